"""``keywire tokens`` end to end: every lab generator, offline (--file) and live (loopback).

Each weak generator must be flagged with the right reason (MT19937 by prediction), each strong
one must not be flagged, and no raw token may reach the output.
"""

from __future__ import annotations

import json
import os
import re
import secrets

import jsonschema
import pytest
from click.testing import CliRunner

from keywire.cli import main
from keywire.tokens.report import schema
from labs.tokens_api import EXPECTED, generators

#: Enough samples for every conclusion: MT19937 needs 625 outputs.
SAMPLES = {"mt": 700}
DEFAULT_SAMPLES = 60
ALLOW_INCOMPLETE = ["--allow-incomplete"]


def _validate(document: dict) -> None:
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(
        document
    )


def _kinds(document: dict) -> set[str]:
    return {w["kind"] for w in document["analysis"]["weaknesses"]}


def _check_verdict(name: str, document: dict, exit_code: int, raw: list[str], text: str) -> None:
    expected = EXPECTED[name]
    kinds = _kinds(document)
    if expected:
        assert expected <= kinds, (name, kinds)
        assert exit_code == 1
        assert document["verdict"] == "weak"
        assert {f["rule_id"] for f in document["findings"]} & {"KW801", "KW802", "KW803"}
    else:
        assert kinds == set(), (name, kinds)
        # Too few samples for every test: no weakness found, and the report says so.
        samples = document["analysis"]["samples"]
        assert exit_code == 3
        assert document["verdict"] == "incomplete" and document["complete"] is False
        assert document["samples_wanted"] > samples
        assert document["summary"].startswith(f"no weakness found at {samples} samples; incomplete")
    if name == "mt":
        (finding,) = [f for f in document["findings"] if f["rule_id"] == "KW801"]
        assert finding["severity"] == "high"
        assert "CWE-338" in finding["cwe"]
        assert finding["evidence"]["generator"].startswith("MT19937")
        assert re.match(
            r"^\[\d+ chars\] \(sha256:[0-9a-f]{8}…\)$", finding["evidence"]["next_token"]
        )
        assert "p=" in finding["evidence"]["tests"]
    # Nothing the generator issued appears in the report, only redacted forms.
    for token in set(raw):
        if len(token) >= 8:
            assert token not in text, (name, "raw token in the report")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_offline_file(name, tmp_path):
    make = generators()[name]
    raw = [make() for _ in range(SAMPLES.get(name, DEFAULT_SAMPLES))]
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(raw) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["tokens", "--file", str(path), "--format", "json"])
    document = json.loads(result.stdout)
    _validate(document)
    assert document["collection"]["source"] == "file"
    assert document["collection"]["target"] == f"file:{name}.txt"
    _check_verdict(name, document, result.exit_code, raw, result.stdout + result.stderr)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_live_against_the_lab(name, tokens_lab):
    samples = SAMPLES.get(name, 40)
    args = ["tokens", f"{tokens_lab.url}/{name}", "--from", "json:token", "--samples", str(samples)]
    result = CliRunner().invoke(main, [*args, "--rate", "1000/s", "--format", "json"])
    assert "collecting" in result.stderr
    document = json.loads(result.stdout)
    _validate(document)
    collection = document["collection"]
    assert collection["collected"] == samples and collection["stopped"] == "complete"
    _check_verdict(name, document, result.exit_code, [], result.stdout)


@pytest.mark.parametrize("source", ["cookie:session", "header:X-Token"])
def test_live_other_sources(source, tokens_lab):
    result = CliRunner().invoke(
        main,
        ["tokens", f"{tokens_lab.url}/uuid1", "--from", source, "--samples", "5", "--rate", "500"],
    )
    assert result.exit_code == 1
    assert "KW802" in result.stdout and "time-based" in result.stdout


def test_console_report(tmp_path):
    make = generators()["counter"]
    path = tmp_path / "t.txt"
    path.write_text("\n".join(make() for _ in range(30)), encoding="utf-8")
    result = CliRunner().invoke(main, ["tokens", "--file", str(path)])
    assert result.exit_code == 1
    out = result.stdout
    assert "Verdict: weak" in out and "[HIGH] KW803" in out
    assert "chars.chi2" in out and "samples needed:" in out
    assert "effective bits per position: |" in out


def test_fail_on_none_and_output_file(tmp_path):
    path = tmp_path / "t.txt"
    make = generators()["uuid1"]
    path.write_text("\n".join(make() for _ in range(3)), encoding="utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        [
            "tokens",
            "--file",
            str(path),
            "--fail-on",
            "none",
            "-o",
            str(report),
            "--format",
            "json",
            *ALLOW_INCOMPLETE,
        ],
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    _validate(json.loads(report.read_text(encoding="utf-8")))


def test_sampled_at_anchors_the_time_searches(tmp_path):
    path = tmp_path / "t.txt"
    make = generators()["objectid"]
    path.write_text("\n".join(make() for _ in range(5)), encoding="utf-8")
    os.utime(path, (1_000_000_000, 1_000_000_000))  # an mtime in 2001
    weak = CliRunner().invoke(main, ["tokens", "--file", str(path), "--sampled-at", "now-ish"])
    assert weak.exit_code == 2 and "--sampled-at" in weak.stderr
    import time

    now = str(int(time.time()))
    assert (
        CliRunner().invoke(main, ["tokens", "--file", str(path), "--sampled-at", now]).exit_code
        == 1
    )


def test_stdin(tmp_path):
    make = generators()["urlsafe"]
    tokens = "\n".join(make() for _ in range(20))
    result = CliRunner().invoke(main, ["tokens", "--file", "-", "--allow-incomplete"], input=tokens)
    assert result.exit_code == 0
    assert "stdin" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["tokens"],
        ["tokens", "http://127.0.0.1:9/", "--file", "x.txt"],
        ["tokens", "http://127.0.0.1:9/"],
        ["tokens", "http://127.0.0.1:9/", "--from", "query:x"],
        ["tokens", "http://127.0.0.1:9/", "--from", "json:t", "--method", "HEAD"],
        ["tokens", "http://127.0.0.1:9/", "--from", "json:t", "--rate", "fast"],
        ["tokens", "http://127.0.0.1:9/", "--from", "json:t", "--rate", "0"],
        ["tokens", "ftp://127.0.0.1/", "--from", "json:t"],
        ["tokens", "--file", "no-such-file.txt"],
        ["tokens", "--file", "-", "--from", "json:t"],
        [
            "tokens",
            "http://127.0.0.1:9/",
            "--from",
            "json:t",
            "-H",
            "Authorization: Bearer user-secret",
        ],
        ["tokens", "https://127.0.0.1:9/", "--from", "json:t", "-H", "Host: evil"],
    ],
)
def test_usage_errors_exit_2_before_any_request(args):
    result = CliRunner().invoke(main, args, input="")
    assert result.exit_code == 2, result.output
    assert "user-secret" not in result.output


def test_nothing_collected_exits_3(tokens_lab, tmp_path):
    result = CliRunner().invoke(
        main, ["tokens", f"{tokens_lab.url}/uuid4", "--from", "cookie:absent", "--rate", "1000"]
    )
    assert result.exit_code == 3
    assert "could not collect any token" in result.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["tokens", "--file", str(empty)]).exit_code == 3


def _auth_app(seen: list[str]):
    import flask

    app = flask.Flask("tokens_auth_lab")

    @app.route("/token")
    def token():
        seen.append(flask.request.headers.get("Authorization", ""))
        if flask.request.headers.get("Authorization") != "Bearer lab-user-credential":
            return {"error": "authentication required"}, 401
        return {"token": secrets.token_urlsafe(24)}

    return app


def test_credentials_go_only_over_verified_https(server_context, ca_file):
    from keywire.lab import LabServer

    seen: list[str] = []
    with LabServer(_auth_app(seen), ssl_context=server_context) as server:
        url = f"{server.url}/token"
        header = ["-H", "Authorization: Bearer lab-user-credential"]
        verified = CliRunner().invoke(
            main,
            [
                "tokens",
                url,
                "--from",
                "json:token",
                "--samples",
                "5",
                "--rate",
                "500",
                *header,
                "--ca-file",
                ca_file,
                "--allow-incomplete",
            ],
        )
        assert verified.exit_code == 0, verified.stderr
        assert seen == ["Bearer lab-user-credential"] * 5
        # Without the CA the certificate does not verify: nothing is sent, nothing collected.
        unverified = CliRunner().invoke(
            main,
            ["tokens", url, "--from", "json:token", "--samples", "5", "--rate", "500", *header],
        )
        assert unverified.exit_code == 3
        assert "certificate" in unverified.stderr
        assert len(seen) == 5
        assert "lab-user-credential" not in verified.output + unverified.output
