"""Deeper data exposure: unsigned JWTs, credentials in redirect URLs, linked scripts, error pages,
and what the API does with the user's credentials (echo, caching, cookies, personal data).

Each check has a lab positive and a near-miss; the labs are small Flask apps on loopback.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest
from flask import Flask, Response, jsonify, redirect, request

from keywire import ScanOptions, Severity, parse_target
from keywire.checks.exposure import scan_response
from keywire.lab import LabServer
from keywire.net.http import HttpResponse
from keywire.secrets.pii import card_number_ok, find_pii, iban_ok
from keywire.secrets.validators import luhn_ok

from ..judged import scan_judged

KEY = "lab-user-key-7f3a9c1e5b2d4f6a8c0e"


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


UNSIGNED_JWT = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'admin', 'role': 'owner'})}."
SIGNED_JWT = f"{_b64({'alg': 'ES256'})}.{_b64({'sub': 'user-1'})}.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"


@dataclass
class Lab:
    """Routes for one scenario; every request is recorded."""

    body: str = '{"ok": true}'
    content_type: str = "application/json"
    location: str | None = None
    scripts: dict[str, str] = field(default_factory=dict)
    error_body: str | None = None
    echo_key: bool = False
    cache_control: str | None = "no-store"
    auth_cookie: str | None = None
    auth_body: str = '{"me": "ok"}'
    seen: list[str] = field(default_factory=list)

    def app(self) -> Flask:
        app = Flask("deeper_lab")

        @app.before_request
        def record() -> None:
            self.seen.append(request.url)
            if not request.is_secure:
                return jsonify(error="use https"), 403  # type: ignore[return-value]
            return None

        @app.after_request
        def hsts(response: Response) -> Response:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
            return response

        @app.errorhandler(404)
        def not_found(_error: object) -> Response:
            if self.error_body is not None:
                return Response(self.error_body, status=500, mimetype="text/html")
            return Response('{"error": "not found"}', status=404, mimetype="application/json")

        @app.get("/static/<name>")
        def script(name: str) -> Response:
            if name not in self.scripts:
                return Response("", status=404)
            return Response(self.scripts[name], mimetype="application/javascript")

        @app.get("/v1/resource")
        def resource() -> Response:
            key = request.headers.get("X-API-Key")
            if key is not None:
                if key != KEY:
                    return Response('{"error": "invalid"}', status=403, mimetype="application/json")
                body = self.auth_body + (f' {{"your_key": "{key}"}}' if self.echo_key else "")
                response = Response(body, mimetype="application/json")
                if self.cache_control is not None:
                    response.headers["Cache-Control"] = self.cache_control
                if self.auth_cookie is not None:
                    response.headers.add("Set-Cookie", self.auth_cookie)
                return response
            if self.location is not None:
                return redirect(self.location, code=302)  # type: ignore[return-value]
            return Response(self.body, mimetype=self.content_type)

        return app


@pytest.fixture
def run_lab(server_context, ca_file):
    def run(lab: Lab, **options: object):
        app = lab.app()
        with LabServer(app, ssl_context=server_context) as https, LabServer(app) as http:
            target = parse_target(https.url + "/v1/resource", http_port=http.port)
            report = scan_judged(
                [target],
                options=ScanOptions(ca_file=ca_file, timeout=5, scan_timeout=30, **options),  # type: ignore[arg-type]
            )
        return report

    return run


def found(report, rule_id):
    return [f for f in report.findings if f.rule_id == rule_id]


# -- unsigned JWT (KW706) ------------------------------------------------------------------------


def test_unsigned_jwt_is_reported(run_lab):
    report = run_lab(Lab(body=json.dumps({"token": UNSIGNED_JWT})))
    (kw706,) = found(report, "KW706")
    assert kw706.severity is Severity.HIGH
    assert found(report, "KW703"), "the JWT itself is still reported"
    assert UNSIGNED_JWT not in json.dumps([dict(f.evidence) for f in report.findings])


def test_signed_jwt_is_a_near_miss_for_kw706(run_lab):
    report = run_lab(Lab(body=json.dumps({"token": SIGNED_JWT})))
    assert found(report, "KW703") and not found(report, "KW706")


# -- credentials in redirect URLs (KW708) --------------------------------------------------------


def test_credential_in_location(run_lab):
    report = run_lab(Lab(location="https://127.0.0.1:9/callback?access_token=q8Zr2LmN4pX7vB1c&x=1"))
    (kw708,) = found(report, "KW708")
    evidence = dict(kw708.evidence)
    assert evidence["parameter"] == "access_token"
    assert "q8Zr2LmN4pX7vB1c" not in json.dumps(evidence)


@pytest.mark.parametrize(
    "location",
    [
        "https://127.0.0.1:9/next?page=2&sort=name",
        "https://127.0.0.1:9/next?token=short",
        "https://127.0.0.1:9/next?api_key=kw_canary_0123456789abcdef",
    ],
)
def test_location_near_misses(run_lab, location):
    assert not found(run_lab(Lab(location=location)), "KW708")


def test_percent_encoded_location_is_decoded():
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    response = HttpResponse(
        url="https://127.0.0.1/x",
        method="GET",
        probe="t",
        status=302,
        reason="Found",
        headers=(("Location", "/login?next=%2Fpay%3Fkey%3D" + key.replace("_", "%5F")),),
        body=b"",
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.0,
    )
    hits = scan_response(response)
    assert [(h.type.id, h.where) for h in hits] == [("stripe-secret-key", "Location URL (decoded)")]


# -- linked scripts ------------------------------------------------------------------------------


PAGE = (
    '<html><head><script src="/static/app.js"></script>'
    '<script src="https://cdn.example.invalid/lib.js"></script></head></html>'
)


def test_secret_in_a_linked_script(run_lab):
    lab = Lab(
        body=PAGE,
        content_type="text/html",
        scripts={"app.js": 'const cfg = {stripe: "sk_live_4eC39HqLyjWDarjtT1zdp7dc"};'},
    )
    report = run_lab(lab)
    (kw701,) = found(report, "KW701")
    assert dict(kw701.evidence)["where"] == "script"
    assert any(url.endswith("/static/app.js") for url in lab.seen)


def test_clean_script_and_off_host_script_are_near_misses(run_lab):
    lab = Lab(body=PAGE, content_type="text/html", scripts={"app.js": "console.log('hi')"})
    report = run_lab(lab)
    assert not found(report, "KW701")
    assert not any("cdn.example.invalid" in url for url in lab.seen)


# -- error pages (KW707) -------------------------------------------------------------------------

TRACEBACK = """<pre>Traceback (most recent call last):
  File "/srv/app/views.py", line 12, in resource
    return db.fetch(key)
KeyError: 'x'</pre>"""


def test_stack_trace_on_the_error_page(run_lab):
    report = run_lab(Lab(error_body=TRACEBACK))
    (kw707,) = found(report, "KW707")
    assert kw707.severity is Severity.MEDIUM
    assert dict(kw707.evidence)["signature"] == "Python traceback"


def test_interactive_debugger_is_high(run_lab):
    report = run_lab(Lab(error_body="<title>Werkzeug Debugger</title>" + TRACEBACK))
    severities = {f.location: f.severity for f in found(report, "KW707")}
    assert severities["werkzeug-debugger"] is Severity.HIGH


def test_plain_error_page_is_a_near_miss(run_lab):
    report = run_lab(Lab(error_body="<h1>Internal Server Error</h1><p>Error ID 4f2a</p>"))
    assert not found(report, "KW707")


# -- authenticated responses (KW704, KW180, KW163, KW705) -----------------------------------------

AUTH = {"headers": {"X-API-Key": KEY}}


def test_conformant_authenticated_answer(run_lab):
    report = run_lab(Lab(), **AUTH)
    assert report.findings == ()
    assert any(
        o.check == "authenticated" and o.status.value == "completed" for o in report.outcomes
    )


def test_without_credentials_the_family_is_skipped(run_lab):
    report = run_lab(Lab(echo_key=True, cache_control=None))
    (outcome,) = [o for o in report.outcomes if o.check == "authenticated"]
    assert outcome.status.value == "skipped" and "no credentials" in outcome.reason


def test_echoed_key(run_lab):
    report = run_lab(Lab(echo_key=True), **AUTH)
    (kw704,) = found(report, "KW704")
    assert dict(kw704.evidence)["where"] == "body"
    assert KEY not in json.dumps([f.message for f in report.findings])


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        (None, Severity.MEDIUM),
        ("max-age=600", Severity.MEDIUM),
        ("no-store", None),
        ("private, max-age=60", None),
    ],
)
def test_cacheable_authenticated_answer(run_lab, cache_control, expected):
    report = run_lab(Lab(cache_control=cache_control), **AUTH)
    severities = [f.severity for f in found(report, "KW180")]
    assert severities == ([expected] if expected else [])


def test_cacheable_with_authorization_only_is_low(server_context, ca_file):
    app = Flask("bearer_lab")

    @app.get("/v1/resource")
    def resource() -> Response:
        if request.headers.get("Authorization") == f"Bearer {KEY}":
            return jsonify(me="ok")
        return Response("{}", status=401, headers={"WWW-Authenticate": "Bearer"})

    with LabServer(app, ssl_context=server_context) as https:
        report = scan_judged(
            https.url + "/v1/resource",
            options=ScanOptions(
                ca_file=ca_file, headers={"Authorization": f"Bearer {KEY}"}, timeout=5
            ),
        )
    assert [f.severity for f in found(report, "KW180")] == [Severity.LOW]


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("sid=abc123; Secure; HttpOnly", Severity.MEDIUM),
        ("sid=abc123; Secure; HttpOnly; SameSite=None", Severity.MEDIUM),
        ("sid=abc123; Secure; HttpOnly; SameSite=Strict", Severity.LOW),
    ],
)
def test_cookie_set_after_authentication(run_lab, cookie, expected):
    report = run_lab(Lab(auth_cookie=cookie), **AUTH)
    assert [f.severity for f in found(report, "KW163")] == [expected]


def test_personal_data_in_the_authenticated_answer(run_lab):
    body = json.dumps(
        {
            "card": "4556 7375 8689 9855",
            "iban": "GB82 WEST 1234 5698 7654 32",
            "email": "ana@corp.example.org",
            "contact": "ops@mailbox.org",
        }
    )
    report = run_lab(Lab(auth_body=body), **AUTH)
    kinds = {f.location.split(":")[0]: f.severity for f in found(report, "KW705")}
    assert kinds == {"payment-card": Severity.HIGH, "iban": Severity.MEDIUM, "email": Severity.LOW}
    assert "4556 7375 8689 9855" not in json.dumps([dict(f.evidence) for f in report.findings])


# -- personal data detectors ---------------------------------------------------------------------


def _luhn_complete(partial: str) -> str:
    for check in "0123456789":
        if luhn_ok(partial + check):
            return partial + check
    raise AssertionError


@pytest.mark.parametrize(
    "number",
    [
        _luhn_complete("455673758689985"),  # Visa
        _luhn_complete("527193046512874"),  # Mastercard
        _luhn_complete("222301847392651"),  # Mastercard 2-series
        _luhn_complete("37829301746518"),  # American Express (15)
        _luhn_complete("601129384756102"),  # Discover
        _luhn_complete("353012948376521"),  # JCB
    ],
)
def test_card_numbers(number):
    assert card_number_ok(number)
    assert [h.kind for h in find_pii(f"pan={number};")] == ["payment-card"]


@pytest.mark.parametrize(
    "text",
    [
        "4556737586899856",  # Luhn fails
        "4111111111111111",  # a published test number
        "4242 4242 4242 4242",
        "1234567812345670",  # Luhn passes, no network starts with 1
        "0000000000000000",
        "order 4111111111111111.5",  # part of a decimal
        "ts=1700000000000000",
        "v1.4111.1111.1111.1111",
    ],
)
def test_card_near_misses(text):
    assert [h.kind for h in find_pii(text)] == []


def test_iban_and_email():
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB83WEST12345698765432")
    assert [h.kind for h in find_pii("mail: jo@mailbox.org, demo@example.com, a@b.test")] == [
        "email"
    ]
