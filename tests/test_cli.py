"""The command line: report on stdout only, exit codes, JSON validity, one-line errors."""

from __future__ import annotations

import json

import jsonschema
import pytest

from keywire.cli import main
from keywire.reporters.json import schema
from keywire.rules import RULES
from labs import raw


def scan_args(api, *extra: str) -> list[str]:
    return [
        "scan",
        api.https.url + "/v1/resource",
        "--http-port",
        str(api.http.port),
        "--ca-file",
        api.ca_file,
        "--timeout",
        "5",
        *extra,
    ]


def test_json_report_validates_and_gate_passes(runner, lab_api):
    api = lab_api()
    result = runner.invoke(main, scan_args(api, "--format", "json"))
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema())
    assert document["score"]["grade"] == "A"
    assert document["complete"] is True
    assert "gate passed" in result.stderr


def test_gate_fails_on_severity(runner, lab_api):
    api = lab_api(hsts=None)  # KW140, medium
    assert runner.invoke(main, scan_args(api, "--fail-on", "medium")).exit_code == 1
    assert runner.invoke(main, scan_args(api, "--fail-on", "high")).exit_code == 0
    assert runner.invoke(main, scan_args(api, "--fail-on", "none")).exit_code == 0


def test_gate_fails_under_score(runner, lab_api):
    api = lab_api(hsts=None)  # score 95
    assert (
        runner.invoke(main, scan_args(api, "--fail-on", "none", "--fail-under", "96")).exit_code
        == 1
    )
    assert (
        runner.invoke(main, scan_args(api, "--fail-on", "none", "--fail-under", "95")).exit_code
        == 0
    )


def test_unreachable_target_exit_3_with_one_json_document(runner):
    with raw.closed_port() as port:
        result = runner.invoke(main, ["scan", f"http://127.0.0.1:{port}/", "--format", "json"])
    assert result.exit_code == 3
    document = json.loads(result.stdout)  # exactly one JSON document
    jsonschema.validate(document, schema())
    assert document["score"] is None
    assert document["targets"][0]["scanned"] is False
    assert "refused" in result.stderr


def test_unresolvable_host_is_a_clear_error(runner):
    result = runner.invoke(main, ["scan", "https://api.example.invalid/", "--format", "json"])
    assert result.exit_code == 3
    assert "cannot resolve api.example.invalid" in result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "not a url"], "is not a URL"),
        (["scan", "ftp://example.test/"], "unsupported scheme"),
        (["scan", "https://127.0.0.1/", "--ca-file", "/nonexistent/ca.pem"], "cannot use CA file"),
        (["scan", "https://127.0.0.1/", "--header", "no-colon"], "--header takes"),
        (["scan", "https://127.0.0.1/", "--header", "Host: x"], "only Authorization"),
        (["rules", "KW999"], "unknown rule"),
    ],
)
def test_usage_errors_exit_2_with_one_line(runner, args, message):
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_ca_file_content(runner, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    result = runner.invoke(main, ["scan", "https://127.0.0.1/", "--ca-file", str(bad)])
    assert result.exit_code == 2
    assert "cannot use CA file" in result.stderr


def test_console_report_is_plain_when_not_a_terminal(runner, lab_api):
    api = lab_api(refuse_cleartext=False)
    result = runner.invoke(main, scan_args(api))
    assert result.exit_code == 1
    assert "\x1b[" not in result.stdout
    assert "KW101" in result.stdout
    assert "Grade F" in result.stdout
    assert "How to fix" in result.stdout


def test_output_file(runner, lab_api, tmp_path):
    api = lab_api()
    out = tmp_path / "report.json"
    result = runner.invoke(main, scan_args(api, "--format", "json", "--output", str(out)))
    assert result.exit_code == 0
    assert result.stdout == ""
    jsonschema.validate(json.loads(out.read_text()), schema())


def test_only_and_skip(runner, lab_api):
    api = lab_api(hsts=None)
    result = runner.invoke(main, scan_args(api, "--format", "json", "--only", "hsts"))
    document = json.loads(result.stdout)
    assert [o["check"] for o in document["targets"][0]["outcomes"]] == ["hsts"]
    result = runner.invoke(main, scan_args(api, "--format", "json", "--skip", "hsts"))
    checks = [o["check"] for o in json.loads(result.stdout)["targets"][0]["outcomes"]]
    assert "hsts" not in checks
    assert "cleartext" in checks


def test_rules_list_and_show(runner):
    result = runner.invoke(main, ["rules"])
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == len(RULES)
    result = runner.invoke(main, ["rules", "kw102"])
    assert result.exit_code == 0
    assert "KW102" in result.stdout
    assert "403" in result.stdout
    assert "In Flask" in result.stdout


def test_version(runner):
    from keywire import __version__

    result = runner.invoke(main, ["--version"])
    assert __version__ in result.stdout


def test_demo_runs_on_loopback_and_fails_the_gate(runner):
    result = runner.invoke(main, ["demo", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema())
    grades = [t["score"]["grade"] for t in document["targets"]]
    assert grades[0] == "F"
    assert all(
        t["target"].startswith(("http://127.0.0.1", "https://127.0.0.1"))
        for t in document["targets"]
    )
    ids = {f["rule_id"] for t in document["targets"] for f in t["findings"]}
    assert {"KW101", "KW102"} <= ids


def test_hostile_target_output_is_escaped(runner, lab_api):
    """Control characters from the target never reach the terminal raw."""
    api = lab_api(hsts="max-age=\x1b[31mred\x1b[0m")
    result = runner.invoke(main, scan_args(api))
    assert "KW141" in result.stdout
    assert "\x1b" not in result.stdout


def test_rich_console_escapes_target_text(lab_api):
    """On a terminal: colours, but markup and escape sequences from the target stay inert."""
    from keywire import ScanOptions, scan
    from keywire.reporters import console

    api = lab_api(hsts="[bold red]max-age=\x1b[31m[/]")
    report = scan([api.target()], options=ScanOptions(ca_file=api.ca_file, timeout=5))
    text = console.render_rich(report, labels={report.targets[0].target: "[link=x]label[/link]"})
    assert "\x1b[" in text  # rich styled the report itself
    assert "[bold red]max-age=" in text  # the target's "markup" printed literally
    assert "max-age=\\x1b[31m" in text  # the target's own escape sequence is shown, inert
    plain = console.render_rich(report, color=False)
    assert "\x1b" not in plain
    assert "KW141" in plain


def test_secret_found_in_a_response_never_reaches_any_output(runner, lab_api, caplog):
    import logging

    stripe = "sk_live_" + "9xQ2mW4eR6tY8uI0oP1aS3dF"
    api = lab_api(require_key=False, body={"config": {"stripe": stripe}})
    caplog.set_level(logging.DEBUG)
    texts = []
    for fmt in ("json", "console"):
        result = runner.invoke(main, [*scan_args(api, "--format", fmt), "-vv"])
        assert "KW701" in result.stdout
        texts += [result.stdout, result.stderr]
    for text in [*texts, caplog.text]:
        assert stripe not in text
        assert stripe[8:] not in text


def test_port_zero_is_a_usage_error(runner):
    result = runner.invoke(main, ["scan", "http://127.0.0.1:0/"])
    assert result.exit_code == 2
    assert "port 0" in result.stderr


def test_only_tls_on_an_http_target_without_https_side_is_a_usage_error(runner, lab_api):
    api = lab_api(refuse_cleartext=False)
    result = runner.invoke(main, ["scan", api.http.url + "/v1", "--only", "tls", "--timeout", "2"])
    assert result.exit_code == 2
    assert "no selected check applies" in result.stderr
    assert "--https-port" in result.stderr
    assert result.stdout == ""
    assert api.behaviour.seen == []
    # With the HTTPS side named, the same selection scans.
    named = runner.invoke(
        main,
        [
            "scan",
            api.http.url + "/v1",
            "--https-port",
            str(api.https.port),
            "--ca-file",
            api.ca_file,
            "--only",
            "tls",
            "--format",
            "json",
        ],
    )
    assert named.exit_code in (0, 1), named.stderr
    assert json.loads(named.stdout)["targets"][0]["scanned"] is True


def test_a_target_no_selected_check_applies_to_is_not_scanned_beside_others(runner, lab_api):
    api = lab_api()
    result = runner.invoke(
        main,
        [
            *scan_args(api, "--only", "tls", "--format", "json"),
            f"http://127.0.0.1:{api.http.port}/v1",
        ],
    )
    document = json.loads(result.stdout)
    by_url = {t["target"]: t for t in document["targets"]}
    idle = by_url[f"http://127.0.0.1:{api.http.port}/v1"]
    assert idle["scanned"] is False
    assert idle["error"].startswith("no selected check applies: tls needs an HTTPS side")
    assert by_url[api.https.url + "/v1/resource"]["scanned"] is True


def test_an_empty_selection_is_a_usage_error(runner):
    result = runner.invoke(main, ["scan", "http://127.0.0.1:9/", "--only", "spec"])
    assert result.exit_code == 2
    assert "no check is selected" in result.stderr
    assert "--spec" in result.stderr
