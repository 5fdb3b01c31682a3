"""``keywire lint-spec``: the offline spec checks (KW901-KW907) with scan's exit codes, and the
pre-commit hook that runs it, tried with ``pre-commit try-repo`` on a fixture repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keywire.cli import main

from .conftest import ROOT

FIXTURES = ROOT / "tests" / "openapi" / "fixtures"
INSECURE = FIXTURES / "insecure-3.0.yaml"
CLEAN = FIXTURES / "clean-3.0.yaml"


def test_findings_one_line_each_and_the_gate(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configuration file around
    result = runner.invoke(main, ["lint-spec", str(INSECURE)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 10
    assert (
        f"{INSECURE}#/components/securitySchemes/queryKey: KW902 medium: Security scheme "
        "`queryKey` sends the API key in the query parameter `api_key`." in lines
    )
    assert {line.split(": ")[1].split()[0] for line in lines} == {
        "KW901",
        "KW902",
        "KW903",
        "KW904",
        "KW905",
        "KW906",
        "KW907",
    }
    assert "gate failed: 7 findings at or above medium" in result.stderr

    high = runner.invoke(main, ["lint-spec", "--fail-on", "critical", str(INSECURE)])
    assert high.exit_code == 0, high.output
    clean = runner.invoke(main, ["lint-spec", str(CLEAN)])
    assert (clean.exit_code, clean.stdout) == (0, "")
    assert "no finding" in clean.stderr and "gate passed" in clean.stderr
    quiet = runner.invoke(main, ["lint-spec", "-q", str(CLEAN)])
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken-syntax.yaml", "invalid YAML at line 8"),
        ("broken-ref.yaml", "does not resolve"),
        ("broken-remote-ref.yaml", "may only reference other files"),
        ("not-openapi.json", "not an OpenAPI or Swagger document"),
    ],
)
def test_a_file_that_cannot_be_used_is_a_usage_error(runner, tmp_path, monkeypatch, name, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["lint-spec", str(CLEAN), str(FIXTURES / name)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    path = str(FIXTURES / name)
    assert f"keywire: error: {path}" in result.stderr
    assert f"{path}: {path}" not in result.stderr  # not named twice in a row


def test_no_network_a_url_is_refused(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["lint-spec", "https://api.example.invalid/openapi.yaml"])
    assert result.exit_code == 2
    assert "lint-spec reads files only" in result.stderr


def test_policy_and_report_formats(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keywire.toml").write_text(
        'skip-rules = ["KW905"]\nfail-on = "high"\n[severity]\nKW902 = "high"\n', encoding="utf-8"
    )
    result = runner.invoke(main, ["lint-spec", str(INSECURE), "--format", "json"])
    assert result.exit_code == 1, result.output  # KW902 raised to high by the policy
    report = json.loads(result.stdout)
    ids = [f["rule_id"] for t in report["targets"] for f in t["findings"]]
    assert "KW905" not in ids and "KW902" in ids
    sarif = tmp_path / "specs.sarif"
    result = runner.invoke(main, ["lint-spec", str(CLEAN), "-o", str(sarif)])
    assert result.exit_code == 0, result.output
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_pre_commit_hook_with_try_repo(tmp_path):
    """pre-commit installs keywire from this checkout (language: python) and runs the hook on
    the spec files of a fixture repository: the insecure one fails, the clean one passes, other
    YAML is not passed to it."""
    if shutil.which("git") is None:
        pytest.skip("git is needed by pre-commit")
    repo = tmp_path / "project"
    (repo / "api").mkdir(parents=True)
    shutil.copy(INSECURE, repo / "openapi.yaml")
    shutil.copy(CLEAN, repo / "api" / "openapi-public.yaml")
    (repo / "docker-compose.yaml").write_text("services: {}\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        selection = ["--files", *files] if files else ["--all-files"]
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(ROOT),
                "keywire-lint-spec",
                *selection,
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
        )

    failing = try_repo()
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "keywire lint-spec (OpenAPI credential checks)" in failing.stdout
    assert "Failed" in failing.stdout
    assert "openapi.yaml#/components/securitySchemes/queryKey: KW902 medium" in failing.stdout, (
        failing.stdout
    )
    assert "api/openapi-public.yaml: no finding" in failing.stdout
    assert "docker-compose.yaml" not in failing.stdout

    passing = try_repo("api/openapi-public.yaml", "docker-compose.yaml")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
