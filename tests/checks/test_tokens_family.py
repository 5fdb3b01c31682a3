"""The ``tokens`` check family: token-like values seen during a scan, analysed for free.

Positive cases (UUIDv1 session cookie, ObjectId in a JSON field, short session IDs) and
near-misses that must stay silent (random session cookies, Flask's signed session cookie, JWTs,
placeholder values, cookies that are not tokens, the core's lab apps).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid

import pytest

from keywire import OutcomeStatus, ScanOptions, parse_target
from keywire.checks._base import CheckNotRun
from keywire.checks.tokens import TokensObservation, capture, check, details, looks_generated
from keywire.lab import LabServer
from keywire.net.http import HttpResponse

from ..conftest import rule_ids
from ..judged import scan_judged

flask = pytest.importorskip("flask")
TOKEN_RULES = {"KW801", "KW802", "KW803", "KW804", "KW805", "KW806"}


def response(
    *, cookies: tuple[str, ...] = (), headers: tuple[tuple[str, str], ...] = (), body: object = None
) -> HttpResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    all_headers = tuple(("Set-Cookie", c) for c in cookies) + headers
    if body is not None:
        all_headers += (("Content-Type", "application/json"),)
    return HttpResponse(
        url="https://api.lab.test/v1/resource?api_key=abc",
        method="GET",
        probe="https-baseline",
        status=200,
        reason="OK",
        headers=all_headers,
        body=raw,
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.01,
    )


def findings_for(*responses: HttpResponse):
    observation = TokensObservation(
        target="https://api.lab.test/v1/resource",
        responses_seen=len(responses),
        tokens=capture(responses, seen_at=time.time()),
    )
    return observation, check(observation)


class TestPure:
    def test_uuid1_session_cookie(self):
        value = str(uuid.uuid1())
        observation, found = findings_for(response(cookies=(f"session={value}; Secure",)))
        (finding,) = found
        assert finding.rule_id == "KW802"
        assert finding.location == "cookie:session:uuid-v1"
        assert value not in str(finding) and value not in json.dumps(details(observation))
        assert dict(finding.evidence)["url"].endswith("api_key=[redacted]")

    def test_objectid_in_a_json_field(self):
        value = f"{int(time.time()):08x}{secrets.token_hex(5)}000a1b"
        _, found = findings_for(response(body={"data": {"access_token": value, "id": 7}}))
        (finding,) = found
        assert finding.rule_id == "KW802"
        assert "$.data.access_token" in finding.location

    @pytest.mark.parametrize(
        "name",
        [
            "session",
            "PHPSESSID",
            "JSESSIONID",
            "connect.sid",
            "laravel_session",
            "csrftoken",
            "XSRF-TOKEN",
            "ASP.NET_SessionId",
        ],
    )
    def test_common_session_cookie_names_are_examined(self, name):
        _, found = findings_for(response(cookies=(f"{name}={uuid.uuid1()}",)))
        assert [f.rule_id for f in found] == ["KW802"]

    def test_short_session_id_in_a_header(self):
        _, found = findings_for(response(headers=(("X-Session-Token", "a81f9c02"),)))
        (finding,) = found
        assert finding.rule_id == "KW804"
        assert finding.confidence.value == "medium"

    @pytest.mark.parametrize(
        "cookie",
        [
            f"session={secrets.token_urlsafe(32)}; Secure; HttpOnly",
            f"PHPSESSID={secrets.token_hex(16)}",
            f"sid={uuid.uuid4()}",
            "session=eyJ1c2VyIjoiYSJ9.ZxYz1a.q0qvhPc4Wk9k2r8t0wAd5h3P6s4",  # Flask, signed
            "jwt_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "session=deleted; Max-Age=0",
            "remember_token=true",
            "lang=en-GB1234",  # not a token name
            'csrftoken=""',
            f"session_started={int(time.time())}",  # a time, but not a token
            "session_theme=a1b2c3d4e5",
        ],
    )
    def test_near_misses_are_silent(self, cookie):
        # Either examined and found fine, or not a token at all (the check is not applicable).
        tokens = capture([response(cookies=(cookie,))], seen_at=time.time())
        assert all(not t.weaknesses for t in tokens)
        observation = TokensObservation(target="t", responses_seen=1, tokens=tokens)
        if tokens:
            assert check(observation) == []
        else:
            with pytest.raises(CheckNotRun, match="token-like") as raised:
                check(observation)
            assert raised.value.status is OutcomeStatus.SKIPPED

    def test_repeats_across_the_baseline_are_not_judged(self):
        value = secrets.token_hex(16)
        same = response(cookies=(f"session={value}",))
        _, found = findings_for(same, same)
        assert found == []

    def test_nothing_to_examine_is_not_applicable(self):
        with pytest.raises(CheckNotRun, match="token-like") as raised:
            findings_for(response(cookies=("theme=dark",)))
        assert raised.value.status is OutcomeStatus.SKIPPED
        with pytest.raises(CheckNotRun, match="no HTTP response"):
            findings_for()

    def test_non_json_bodies_and_huge_documents_are_skipped(self):
        html = response(headers=(("Content-Type", "text/html"),))
        deep = response(body={"items": [{"x": [1, 2, {"token": f"v{i:07d}"}]} for i in range(300)]})
        observation = TokensObservation(
            target="t", responses_seen=2, tokens=capture([html, deep], seen_at=time.time())
        )
        (seen,) = observation.tokens
        assert seen.name == "$.items[*].x[*].token"
        assert len(seen.values) == 50  # bounded
        assert seen.kind == "counter"

    @pytest.mark.parametrize(
        ("value", "generated"),
        [
            ("a1b2c3", True),
            ("short", False),
            ("deleted", False),
            ("aaaaaaaa", False),
            ("with space1", False),
        ],
    )
    def test_looks_generated(self, value, generated):
        assert looks_generated(value) is generated


def _cookie_app(make_cookie):
    app = flask.Flask("tokens_family_lab")
    app.secret_key = secrets.token_bytes(16)

    @app.route("/v1/resource")
    def resource():
        result = make_cookie()
        if result is None:
            flask.session["user"] = "lab"  # Flask's own signed session cookie
            return {"ok": True}
        response = flask.make_response({"ok": True})
        response.set_cookie("session", result, secure=True, httponly=True)
        return response

    return app


def _scan(app) -> object:
    """A tokens-only scan, judged again from its saved observations (same findings)."""
    with LabServer(app) as server:
        return scan_judged(
            [parse_target(server.url + "/v1/resource")],
            options=ScanOptions(timeout=5, scan_timeout=30, only=("tokens",)),
        )


def test_scan_flags_a_uuid1_session_cookie_on_loopback():
    report = _scan(_cookie_app(lambda: str(uuid.uuid1())))
    assert rule_ids(report) == {"KW802"}


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_urlsafe(32), lambda: str(uuid.uuid4()), lambda: None],
    ids=["urlsafe", "uuid4", "flask-session"],
)
def test_scan_near_misses_on_loopback(make):
    report = _scan(_cookie_app(make))
    assert rule_ids(report) & TOKEN_RULES == set()
    (outcome,) = [o for o in report.outcomes if o.check == "tokens"]
    assert outcome.status in (OutcomeStatus.COMPLETED, OutcomeStatus.SKIPPED)


def test_core_lab_apps_are_silent(lab_api):
    api = lab_api(cookies=("session=" + secrets.token_urlsafe(32) + "; Secure; HttpOnly",))
    report = api.scan()
    assert rule_ids(report) & TOKEN_RULES == set()
    seed = lab_api()
    assert rule_ids(seed.scan()) & TOKEN_RULES == set()
