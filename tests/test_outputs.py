"""Report files: the format from the extension, every output checked before the scan, atomic writes
that never follow a symbolic link, and a full stdout that ends in one line (issue 10, item 16)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest
from click.testing import CliRunner

from keywire.cli import main
from keywire.outputs import Output, OutputError, infer_format, plan_outputs, write_atomically


def _scan(api, *extra: str):
    return CliRunner().invoke(
        main,
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--only",
            "cleartext",
            "--timeout",
            "5",
            *extra,
        ],
    )


def _is_console(text: str) -> bool:
    return text.startswith("keywire ") and "Grade " in text


FORMAT_CHECKS = {
    "json": lambda text: json.loads(text)["schema_version"].startswith("1."),
    "sarif": lambda text: json.loads(text)["version"] == "2.1.0",
    "html": lambda text: text.startswith("<!DOCTYPE html>"),
    "markdown": lambda text: text.startswith("## keywire"),
    "junit": lambda text: text.startswith("<?xml") and "<testsuites" in text,
    "console": _is_console,
}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("report.json", "json"),
        ("keywire.sarif", "sarif"),
        ("keywire.sarif.json", "sarif"),
        ("report.html", "html"),
        ("REPORT.HTM", "html"),
        ("comment.md", "markdown"),
        ("results.xml", "junit"),
        ("keywire.junit.xml", "junit"),
        ("report.txt", "console"),
        ("report", "console"),
    ],
)
def test_the_extension_chooses_the_format(lab_api, tmp_path: Path, name: str, fmt: str):
    api = lab_api()
    path = tmp_path / name
    result = _scan(api, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # a plain -o FILE takes the report away from stdout
    assert f"keywire: {fmt} report written to {path}" in result.stderr
    assert FORMAT_CHECKS[fmt](path.read_text("utf-8"))
    if fmt == "junit":
        assert junitparser.JUnitXml.fromfile(str(path)).tests > 0


def test_an_explicit_format_wins_over_the_extension(lab_api, tmp_path: Path):
    api = lab_api()
    path = tmp_path / "report.html"
    result = _scan(api, "--format", "json", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    assert FORMAT_CHECKS["json"](path.read_text("utf-8"))


def test_several_inferred_outputs_and_the_console_on_stdout(lab_api, tmp_path: Path):
    api = lab_api()
    result = _scan(
        api, "-o", f"json:{tmp_path / 'a.json'}", "-o", f"html:{tmp_path / 'a.html'}", "-o", "-"
    )
    assert result.exit_code == 0, result.stderr
    assert _is_console(result.stdout)
    assert FORMAT_CHECKS["json"]((tmp_path / "a.json").read_text("utf-8"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("jsno:{dir}/x.json", "unknown format 'jsno'"),
        ("HTML:{dir}/x.html", "unknown format 'HTML'"),
        ("{dir}/missing/x.json", "does not exist (keywire does not create directories)"),
        ("{dir}", "it is a directory"),
        ("{dir}/afile/x.json", "is not a directory"),
        ("/proc/keywire-test-report.json", "cannot write"),
    ],
)
def test_a_bad_output_is_a_usage_error_before_any_scan(
    lab_api, tmp_path: Path, value: str, message: str
):
    api = lab_api()
    (tmp_path / "afile").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _scan(api, "-o", f"json:{tmp_path / 'good.json'}", "-o", value.format(dir=tmp_path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert api.behaviour.seen == [], "the scan must not start"
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_found_before_the_scan(lab_api, tmp_path: Path):
    api = lab_api()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = _scan(api, "-o", str(locked / "r.json"))
    assert result.exit_code == 2
    assert "Permission denied" in result.stderr
    assert api.behaviour.seen == []


def test_a_colon_in_a_file_name_needs_a_path(lab_api, tmp_path: Path, monkeypatch):
    api = lab_api()
    monkeypatch.chdir(tmp_path)
    result = _scan(api, "--format", "json", "-o", "./jsno:x.json")
    assert result.exit_code == 0, result.stderr
    assert FORMAT_CHECKS["json"]((tmp_path / "jsno:x.json").read_text("utf-8"))


def test_a_symlink_at_the_destination_is_replaced_not_followed(lab_api, tmp_path: Path):
    api = lab_api()
    precious = tmp_path / "precious.txt"
    precious.write_text("do not overwrite me\n")
    link = tmp_path / "report.json"
    link.symlink_to(precious)
    result = _scan(api, "-o", str(link))
    assert result.exit_code == 0, result.stderr
    assert precious.read_text() == "do not overwrite me\n"
    assert not link.is_symlink()
    assert FORMAT_CHECKS["json"](link.read_text("utf-8"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.txt", "report.json"]


def test_a_dangling_symlink_is_replaced_too(lab_api, tmp_path: Path):
    api = lab_api()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "report.html"
    link.symlink_to(elsewhere / "created-through-the-link.html")
    result = _scan(api, "-o", str(link))
    assert result.exit_code == 0, result.stderr
    assert list(elsewhere.iterdir()) == []
    assert not link.is_symlink() and FORMAT_CHECKS["html"](link.read_text("utf-8"))


def test_an_existing_report_is_replaced_keeping_its_mode(lab_api, tmp_path: Path):
    api = lab_api()
    path = tmp_path / "report.md"
    path.write_text("old\n")
    path.chmod(0o640)
    result = _scan(api, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    assert FORMAT_CHECKS["markdown"](path.read_text("utf-8"))
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left


def test_a_failed_write_leaves_the_old_report_and_no_temporary(tmp_path: Path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text("previous report\n")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomically(str(path), "{}\n")
    assert path.read_text() == "previous report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_new_report_gets_the_usual_mode(tmp_path: Path):
    umask = os.umask(0o022)
    try:
        write_atomically(str(tmp_path / "r.txt"), "x\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o644


def test_plan_outputs_rules():
    assert plan_outputs("console", ["r.html"]) == [Output("html", "r.html")]
    assert plan_outputs("json", ["r.html"], fmt_given=True) == [Output("json", "r.html")]
    assert plan_outputs("console", ["sarif:k.sarif"]) == [
        Output("console", "-"),
        Output("sarif", "k.sarif"),
    ]
    assert plan_outputs("console", ["C:x.json"]) == [Output("json", "C:x.json")]
    with pytest.raises(OutputError, match="more than once"):
        plan_outputs("console", ["a.json", "json:./a.json"])
    with pytest.raises(OutputError, match="only one report can go to stdout"):
        plan_outputs("console", ["json:-", "-"])
    with pytest.raises(OutputError, match="extension means sarif"):
        plan_outputs("console", ["x.sarif"], allowed=("console", "json", "html"))
    assert infer_format("a/b.c/report") is None


def test_tokens_infers_the_format_and_checks_before_reading(tmp_path: Path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(f"{i:032x}" for i in range(40)) + "\n")
    page = tmp_path / "tokens.html"
    result = CliRunner().invoke(main, ["tokens", "--file", str(tokens), "-o", str(page)])
    assert result.exit_code in (0, 1), result.stderr
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    bad = CliRunner().invoke(
        main, ["tokens", "--file", str(tokens), "-o", str(tmp_path / "no" / "t.json")]
    )
    assert bad.exit_code == 2
    assert "does not exist" in bad.stderr


def _to_dev_full(*args: str) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "keywire", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_one_line_and_exit_2(lab_api):
    api = lab_api()
    for args in (
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--only",
            "cleartext",
        ],
        ["rules"],
    ):
        result = _to_dev_full(*args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "Exception ignored" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("keywire: error: cannot write")
        assert "No space left on device" in lines[-1]
        assert len(lines) == 1
