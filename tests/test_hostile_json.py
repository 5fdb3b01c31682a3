"""Hostile nesting never drops a finding: JSON is parsed with a depth bound everywhere, and a
failure inside one check family keeps what it (and every other family) had already found.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask, Response

from keywire import OutcomeStatus, ScanOptions, scan
from keywire import _json as bounded
from keywire._models import Finding
from keywire.checks import exposure
from keywire.checks._base import Family, Isolation
from keywire.cli import main
from keywire.lab import LabServer
from keywire.observations.capture import Captured, judge_family
from keywire.secrets import find_secrets, validators
from keywire.secrets.catalogue import CATALOGUE

SRC = Path(__file__).resolve().parents[1] / "src" / "keywire"
AWS_KEY = "AKIAZ2XCV3BNM4QWE5RT"
PEM_BODY = (
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbeVw4cXPDNz7PL2J\n"
    "ADJWn8ivTp39uWoyoKDQdzV2Kw2hRANCAAQ4Hn6VTX2ZdPcxoBGrYbuFrDXr2L5N"
)
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
SMALL_JWT_PAYLOAD = '{"sub": "x"}'
EXPOSURE_ONLY = ScanOptions(timeout=2.0, scan_timeout=20.0, only=("exposure",))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(payload: str) -> str:
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    return f"{header}.{_b64(payload.encode())}.{_b64(b'signature-bytes-0123456789')}"


def deep_jwt(depth: int = 3000) -> str:
    return _jwt('{"a":' + "[" * depth + "]" * depth + "}")


def _serve(body: str, mimetype: str = "text/plain") -> LabServer:
    app = Flask("hostile_json")

    @app.route("/")
    def index() -> Response:
        return Response(body, mimetype=mimetype)

    return LabServer(app)


# --- the bounded parser ------------------------------------------------------------------------


def test_bounded_loads_accepts_ordinary_json_and_brackets_in_strings():
    document = '{"a": "[[[[{{{{", "b": [[1, {"c": "]]]"}]], "d": "\\"["}'
    assert bounded.loads(document) == json.loads(document)
    assert bounded.nesting_depth(document) == 4
    assert bounded.loads(b'{"x": [1]}') == {"x": [1]}
    assert bounded.loads("[" * 128 + "]" * 128) is not None


@pytest.mark.parametrize("depth", [129, 990, 3000, 200_000])
def test_bounded_loads_refuses_deep_nesting_with_a_value_error(depth):
    with pytest.raises(bounded.JsonTooDeep) as info:
        bounded.loads("[" * depth + "]" * depth)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match="nested deeper than 128 levels"):
        bounded.loads(("{" + '"k":') * depth + "1" + "}" * depth)


def test_no_json_loads_on_target_data_outside_the_bounded_parser():
    """Every json.loads in the package goes through keywire._json, except the two that read
    keywire's own packaged schemas."""
    allowed = {"_json.py", "reporters/json.py", "tokens/report.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative in allowed or relative.startswith("lab/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("loads", "load")
                and isinstance(node.value, ast.Name)
                and node.value.id == "json"
            ):
                offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []


def test_jwt_with_a_deep_payload_is_not_a_jwt_and_raises_nothing():
    assert validators.jwt_header(deep_jwt()) is None
    hits = find_secrets(f"aws={AWS_KEY}\n{PEM}\ntoken={deep_jwt()}", where="body")
    assert {h.type.id for h in hits} == {"aws-access-key-id", "private-key"}


# --- against a hostile server -----------------------------------------------------------------


def test_deep_jwt_beside_real_secrets_keeps_the_high_findings_and_the_grade():
    body = f"aws={AWS_KEY}\n{PEM}\ntoken={deep_jwt()}\n"
    with _serve(body) as server:
        report = scan(server.url + "/", options=EXPOSURE_ONLY)
        result = CliRunner().invoke(
            main, ["scan", server.url + "/", "--only", "exposure", "--format", "json"]
        )
    found = {f.rule_id for f in report.findings}
    assert {"KW701", "KW702"} <= found
    (outcome,) = report.targets[0].outcomes
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.reason
    assert report.score is not None and report.score.grade == "C"
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert {"KW701", "KW702"} <= {f["rule_id"] for t in document["targets"] for f in t["findings"]}


def test_deep_json_body_does_not_knock_out_the_token_family():
    deep = "[" * 990 + "]" * 990
    body = '{"token": "0190b2f4-7c3a-11ee-b962-0242ac120002", "x": ' + deep + "}"
    with _serve(body, "application/json") as server:
        report = scan(server.url + "/", options=ScanOptions(timeout=2.0, only=("tokens",)))
    (outcome,) = report.targets[0].outcomes
    assert outcome.status is not OutcomeStatus.ERROR, outcome.reason


def test_keywire_tokens_json_source_on_deep_json_is_no_traceback():
    deep = "[" * 990 + "]" * 990
    body = '{"token": "x", "deep": ' + deep + "}"
    with _serve(body, "application/json") as server:
        result = CliRunner().invoke(
            main, ["tokens", server.url + "/", "--from", "json:token", "--rate", "500"]
        )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert "could not collect any token" in result.stderr


# --- a failure inside a family keeps the findings ------------------------------------------------


def test_a_validator_that_fails_costs_only_its_candidate():
    def broken(_value: str) -> bool:
        raise RecursionError("simulated parser bug")

    catalogue = [
        t if t.id != "jwt" else type(t)(**{**t.__dict__, "validate": broken}) for t in CATALOGUE
    ]
    text = f"aws={AWS_KEY}\n{PEM}\ntoken={_jwt(SMALL_JWT_PAYLOAD)}"
    errors: list[str] = []
    hits = find_secrets(text, where="body", catalogue=catalogue, errors=errors)
    assert {h.type.id for h in hits} == {"aws-access-key-id", "private-key"}
    assert errors == ["RecursionError while checking a jwt candidate"]
    with pytest.raises(RecursionError):
        find_secrets(text, where="body", catalogue=catalogue)


def test_a_bug_while_scanning_a_response_keeps_the_other_findings(monkeypatch):
    """Live: the JWT decoder breaks (a stand-in for any bug); the AWS key and the private key in
    the same body are still reported, and the family says it is incomplete."""

    def broken(_segment: str) -> object:
        raise RecursionError("simulated parser bug")

    monkeypatch.setattr(validators, "b64url_json", broken)
    body = f"aws={AWS_KEY}\n{PEM}\ntoken={_jwt(SMALL_JWT_PAYLOAD)}\n"
    with _serve(body) as server:
        report = scan(server.url + "/", options=EXPOSURE_ONLY)
    assert {"KW701", "KW702"} <= {f.rule_id for f in report.findings}
    (outcome,) = report.targets[0].outcomes
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.reason.startswith("internal error in keywire (RecursionError while")
    assert "simulated" not in outcome.reason  # the exception's text may quote the target
    assert not report.complete
    assert report.score is not None and report.score.grade == "C"


def _family(check) -> Family[object]:
    return Family(name="demo", title="demo", group="http", observation=object, check=check)


def _finding(n: int) -> Finding:
    return exposure.PROVIDER_SECRET.finding(target="t", message=f"m{n}", location=f"l{n}")


def test_scanner_keeps_findings_a_check_yielded_before_it_failed():
    def check(_obs: object):
        yield _finding(1)
        yield _finding(2)
        raise KeyError("boom")

    outcome, found, _ = judge_family(_family(check), Captured(observation=object()), "t")
    assert [f.location for f in found] == ["l1", "l2"]
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.reason == (
        "internal error in keywire (KeyError in the check); the findings it made are kept"
    )


def test_scanner_turns_isolated_probe_errors_into_not_tested_with_findings():
    class Observation:
        internal_errors = ("ValueError while searching a response",)

    outcome, found, _ = judge_family(
        _family(lambda _obs: [_finding(1)]), Captured(observation=Observation()), "t"
    )
    assert [f.location for f in found] == ["l1"]
    assert outcome.status is OutcomeStatus.ERROR
    assert "ValueError while searching a response" in outcome.reason


def test_isolation_records_the_type_never_the_text():
    isolation = Isolation()
    with isolation.item("reading X"):
        raise ValueError("secret-looking text from the target")
    with isolation.item("reading Y"):
        pass
    assert isolation.errors == ("ValueError while reading X",)
