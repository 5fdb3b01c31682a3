"""``keywire scan --spec`` and ``--header-env`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from keywire.cli import main
from keywire.reporters.json import schema
from labs.spec_api import LAB_KEY

FIXTURES = Path(__file__).parent / "fixtures"


def spec_args(lab, *extra: str) -> list[str]:
    return [
        "scan",
        "--spec",
        lab.spec_url,
        "--http-port",
        str(lab.http.port),
        "--ca-file",
        lab.ca_file,
        "--timeout",
        "5",
        *extra,
    ]


def test_spec_scan_json(runner, spec_lab):
    lab = spec_lab(contradicting=True)
    result = runner.invoke(main, spec_args(lab, "--format", "json"))
    assert result.exit_code == 1, result.stderr  # KW101 is critical: the default gate fails
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema())
    rules = {f["rule_id"] for t in document["targets"] for f in t["findings"]}
    assert {"KW101", "KW120", "KW902", "KW910"} <= rules


def test_spec_scan_console_labels_endpoints(runner, spec_lab):
    lab = spec_lab()
    result = runner.invoke(main, spec_args(lab))
    assert result.exit_code == 0, result.stderr
    assert "GET /pets/{petId} (from the spec)" in result.stdout
    assert "API description: 5 endpoint(s) probed, 2 operation(s) skipped" in result.stdout
    # which operations were skipped, and why
    assert (
        "skipped GET /owners/{ownerId}: path parameter `ownerId` has no example, default or "
        "enum value" in result.stdout
    )
    assert "skipped POST /pets: POST is not sent (keywire only observes)" in result.stdout


def test_spec_console_lists_at_most_twenty_skipped_operations(runner, spec_lab, tmp_path):
    lab = spec_lab()
    paths = {f"/w{i}": {"post": {"responses": {"200": {"description": "ok"}}}} for i in range(25)}
    paths["/ok"] = {"get": {"responses": {"200": {"description": "ok"}}}}
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "servers": [{"url": lab.https.url + "/v1"}],
                "paths": paths,
            }
        )
    )
    result = runner.invoke(
        main,
        ["scan", "--spec", str(spec), "--http-port", str(lab.http.port), "--ca-file", lab.ca_file],
    )
    assert "25 operation(s) skipped:" in result.stdout, result.stderr
    assert result.stdout.count("  skipped POST /w") == 20
    assert "… and 5 more (the JSON report lists them)" in result.stdout


def test_targets_replace_the_spec_servers(runner, spec_lab, tmp_path):
    lab = spec_lab()
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "servers: [{url: 'https://api.example.invalid/v1'}]\n"
        "paths:\n  /health:\n    get: {responses: {'200': {description: ok}}}\n"
    )
    result = runner.invoke(
        main,
        [
            "scan",
            lab.https.url + "/v1",
            "--spec",
            str(spec),
            "--http-port",
            str(lab.http.port),
            "--ca-file",
            lab.ca_file,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [t["target"] for t in document["targets"]] == [str(spec), lab.https.url + "/v1/health"]


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("broken-ref.yaml", "broken-ref.yaml#/paths/~1pets/get/responses/200"),
        ("broken-syntax.yaml", "broken-syntax.yaml: invalid YAML at line 8"),
        ("cyclic-ref.yaml", "cyclic-ref.yaml#/components/parameters/"),
    ],
)
def test_broken_spec_is_a_usage_error(runner, name, where):
    result = runner.invoke(main, ["scan", "--spec", str(FIXTURES / name)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "cannot use the API description" in result.stderr
    assert where in result.stderr


def test_unreachable_spec_url_is_a_usage_error(runner):
    result = runner.invoke(
        main, ["scan", "--spec", "http://127.0.0.1:9/openapi.json", "--timeout", "2"]
    )
    assert result.exit_code == 2
    assert "cannot fetch" in result.stderr


def test_target_or_spec_is_required(runner):
    result = runner.invoke(main, ["scan"])
    assert result.exit_code == 2
    assert "--spec" in result.stderr


def test_header_env_reads_the_environment(runner, spec_lab):
    lab = spec_lab()
    result = runner.invoke(
        main,
        spec_args(lab, "--header-env", "X-API-Key=KW_TEST_KEY", "--format", "json"),
        env={"KW_TEST_KEY": LAB_KEY},
    )
    assert result.exit_code == 0, result.stderr
    assert LAB_KEY not in result.stdout + result.stderr
    used = [r for r in lab.state.seen if r.get("X-Api-Key") == LAB_KEY]
    assert used and all(r["url"].startswith("https://") for r in used)
    document = json.loads(result.stdout)
    assert document["options"]["headers"]["X-API-Key"] != LAB_KEY


def test_header_env_unset_variable_is_a_clear_error(runner, monkeypatch):
    monkeypatch.delenv("KW_UNSET_VARIABLE", raising=False)
    result = runner.invoke(
        main,
        ["scan", "https://127.0.0.1:9/", "--header-env", "X-API-Key=KW_UNSET_VARIABLE"],
    )
    assert result.exit_code == 2
    assert "KW_UNSET_VARIABLE is not set" in result.stderr


@pytest.mark.parametrize("value", ["X-API-Key", "=VAR", "X-API-Key=", "Bad Name=VAR"])
def test_header_env_syntax(runner, value):
    result = runner.invoke(main, ["scan", "https://127.0.0.1:9/", "--header-env", value])
    assert result.exit_code == 2
    assert "NAME=VARIABLE" in result.stderr


def test_header_env_respects_the_allowlist(runner):
    result = runner.invoke(
        main, ["scan", "https://127.0.0.1:9/", "--header-env", "Host=HOME"], env={"HOME": "/x"}
    )
    assert result.exit_code == 2
    assert "only Authorization, Cookie and X-* headers are allowed" in result.stderr
