"""The command line end to end: several outputs, configuration, suppressions, baselines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import junitparser

from keywire.cli import main
from keywire.reporters.json import schema


def args(api, *extra: str) -> list[str]:
    return [
        "scan",
        api.https.url + "/v1/resource",
        "--http-port",
        str(api.http.port),
        "--ca-file",
        api.ca_file,
        "--timeout",
        "5",
        "--no-config",
        *extra,
    ]


def test_several_formats_in_one_run(runner, lab_api, tmp_path):
    api = lab_api(hsts=None)
    out = tmp_path / "reports"
    out.mkdir()  # keywire creates no directories
    result = runner.invoke(
        main,
        args(
            api,
            "--output",
            f"sarif:{out}/k.sarif",
            "--output",
            f"html:{out}/k.html",
            "--output",
            f"markdown:{out}/k.md",
            "--output",
            f"junit:{out}/k.xml",
            "--output",
            f"json:{out}/k.json",
        ),
    )
    assert result.exit_code == 0, result.stderr
    assert "Grade B" in result.stdout  # the --format report (console) still goes to stdout
    assert json.loads((out / "k.sarif").read_text())["version"] == "2.1.0"
    assert (out / "k.html").read_text().startswith("<!DOCTYPE html>")
    assert "KW140" in (out / "k.md").read_text()
    assert junitparser.JUnitXml.fromfile(str(out / "k.xml")).tests > 0
    jsonschema.validate(json.loads((out / "k.json").read_text()), schema())
    assert result.stderr.count("report written to") == 5


def test_plain_output_keeps_old_meaning_and_dash_is_stdout(runner, lab_api, tmp_path):
    api = lab_api()
    result = runner.invoke(
        main, args(api, "--format", "json", "-o", str(tmp_path / "r.json"), "-o", "sarif:-")
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["version"] == "2.1.0"  # stdout: exactly the SARIF
    jsonschema.validate(json.loads((tmp_path / "r.json").read_text()), schema())
    result = runner.invoke(main, args(api, "-o", "json:-", "-o", "sarif:-"))
    assert result.exit_code == 2 and "only one report can go to stdout" in result.stderr
    result = runner.invoke(main, args(api, "-o", "json:"))
    assert result.exit_code == 2


def test_config_file_sets_defaults_and_cli_wins(runner, lab_api, tmp_path, monkeypatch):
    api = lab_api(hsts=None)  # KW140, medium
    monkeypatch.chdir(tmp_path)
    Path("keywire.toml").write_text('fail-on = "medium"\nformat = "json"\n')
    base = [a for a in args(api) if a != "--no-config"]
    result = runner.invoke(main, base)
    assert result.exit_code == 1  # the file's fail-on
    assert "using configuration" in result.stderr and "keywire.toml" in result.stderr
    json.loads(result.stdout)  # the file's format
    assert runner.invoke(main, [*base, "--fail-on", "high"]).exit_code == 0  # CLI wins
    assert runner.invoke(main, [*base, "--no-config"]).exit_code == 0
    both = runner.invoke(main, [*base, "--no-config", "--config", "keywire.toml"])
    assert both.exit_code == 2


def test_config_error_exit_2_names_file_and_line(runner, lab_api, tmp_path):
    api = lab_api()
    bad = tmp_path / "k.toml"
    bad.write_text('timeout = 5\n\n[[suppress]]\nrule = "KW140"\ntarget = "*"\n')
    result = runner.invoke(
        main, [*[a for a in args(api) if a != "--no-config"], "--config", str(bad)]
    )
    assert result.exit_code == 2
    assert f"{bad}:3: [[suppress]] #1 needs 'reason'" in result.stderr
    assert result.stdout == ""


def test_suppression_end_to_end(runner, lab_api, tmp_path):
    api = lab_api(hsts=None)
    config = tmp_path / "keywire.toml"
    config.write_text(
        '[[suppress]]\nrule = "KW140"\ntarget = "https://127.0.0.1:*"\nreason = "lab has no HSTS"\n'
    )
    common = [
        *[a for a in args(api, "--fail-on", "medium") if a != "--no-config"],
        "--config",
        str(config),
    ]
    result = runner.invoke(main, [*common, "--format", "json"])
    assert result.exit_code == 0, result.stderr  # suppressed: not counted by the gate
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema())
    finding = document["targets"][0]["findings"][0]
    assert finding["suppressed"] and finding["suppression"]["reason"] == "lab has no HSTS"
    assert document["score"]["score"] == 100
    sarif = json.loads(runner.invoke(main, [*common, "-o", "sarif:-"]).stdout)
    assert sarif["runs"][0]["results"][0]["suppressions"][0]["kind"] == "external"

    config.write_text(
        '[[suppress]]\nrule = "KW140"\ntarget = "*"\nreason = "old"\nexpires = 2001-01-01\n'
    )
    result = runner.invoke(main, [*common, "--format", "markdown"])
    assert result.exit_code == 1  # expired: counts again
    assert "keywire: warning: suppression of KW140" in result.stderr
    assert "expired on 2001-01-01" in result.stdout


def test_baseline_and_fail_on_new(runner, lab_api, tmp_path):
    api = lab_api(hsts=None, cookies=("sid=1; Path=/",))  # KW140 medium, KW160 medium, KW162 low
    baseline = tmp_path / "baseline.json"
    first = runner.invoke(
        main, args(api, "--format", "json", "-o", str(baseline), "--fail-on", "none")
    )
    assert first.exit_code == 0
    # Same findings: nothing new, so --fail-on-new passes where the plain gate fails.
    assert runner.invoke(main, args(api, "--fail-on", "medium")).exit_code == 1
    same = runner.invoke(
        main,
        args(
            api,
            "--fail-on",
            "medium",
            "--baseline",
            str(baseline),
            "--fail-on-new",
            "--format",
            "json",
        ),
    )
    assert same.exit_code == 0, same.stderr
    document = json.loads(same.stdout)
    assert {f["baseline"] for t in document["targets"] for f in t["findings"]} == {"unchanged"}

    # Drop KW160 from the baseline and add a finding the server no longer has.
    previous = json.loads(baseline.read_text())
    findings = previous["targets"][0]["findings"]
    gone = dict(
        findings[0], rule_id="KW141", fingerprint="0" * 32, location="strict-transport-security"
    )
    previous["targets"][0]["findings"] = [f for f in findings if f["rule_id"] != "KW160"] + [gone]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(previous))
    result = runner.invoke(
        main,
        args(
            api,
            "--fail-on",
            "medium",
            "--baseline",
            str(edited),
            "--fail-on-new",
            "--format",
            "json",
        ),
    )
    assert result.exit_code == 1
    assert "1 new finding at or above medium" in result.stderr
    document = json.loads(result.stdout)
    states = {f["rule_id"]: f["baseline"] for f in document["targets"][0]["findings"]}
    assert states["KW160"] == "new" and states["KW140"] == "unchanged"
    assert [f["rule_id"] for f in document["baseline"]["fixed"]] == ["KW141"]
    for fmt, marker in (
        ("console", "1 fixed"),
        ("markdown", "| new | unchanged | fixed |"),
        ("html", "Compared with the baseline"),
    ):
        shown = runner.invoke(
            main, args(api, "--baseline", str(edited), "--format", fmt, "--fail-on", "none")
        )
        assert marker in shown.stdout, fmt
    junit = runner.invoke(
        main,
        args(
            api, "--baseline", str(edited), "--fail-on-new", "--fail-on", "medium", "-o", "junit:-"
        ),
    )
    assert junit.stdout.count("<failure") == 1  # only the new one fails


def test_baseline_errors(runner, lab_api, tmp_path):
    api = lab_api()
    result = runner.invoke(main, args(api, "--fail-on-new"))
    assert result.exit_code == 2 and "--fail-on-new needs --baseline" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "2.0", "targets": []}')
    result = runner.invoke(main, args(api, "--baseline", str(bad)))
    assert result.exit_code == 2 and "unsupported schema_version" in result.stderr
    result = runner.invoke(main, args(api, "--baseline", str(tmp_path / "none.json")))
    assert result.exit_code == 2 and "cannot read baseline" in result.stderr


def test_no_color_and_plain_console(runner, lab_api, monkeypatch):
    api = lab_api(hsts=None)
    monkeypatch.setenv("NO_COLOR", "1")
    result = runner.invoke(main, args(api))
    assert "\x1b[" not in result.stdout and "KW140" in result.stdout
    assert os.environ["NO_COLOR"] == "1"
