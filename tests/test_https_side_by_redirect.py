"""An HTTPS side the API names in its redirect is the target's HTTPS side (issue 10, item 2).

``keywire scan http://host:A/...`` whose cleartext side redirects to ``https://host:B/...`` gets
the full TLS and certificate scan on B, so an expired or self-signed certificate there is
reported without ``--https-port``. Where no HTTPS side can be found, the skip reason says how to
name one. The user's credentials are never sent to a side only a redirect named.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify, redirect, request

from keywire import OutcomeStatus, ScanOptions, parse_target, scan
from keywire.lab import LabServer
from labs.tlspki import make_leaf, now, write_chain

FAST = {"timeout": 3.0, "scan_timeout": 60.0}


def api_app(seen: list[dict[str, str]]) -> Flask:
    app = Flask("https_side")

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        seen.append(dict(request.headers))
        return jsonify(error="unauthorized"), 401

    return app


def redirecting_app(https_port: int) -> Flask:
    """The enforce_https snippet with the HTTPS side on another port, as behind a load balancer."""
    app = Flask("redirects_to_https")

    @app.before_request
    def enforce_https():  # type: ignore[no-untyped-def]
        return redirect(f"https://127.0.0.1:{https_port}{request.full_path.rstrip('?')}", 301)

    return app


@pytest.fixture
def bad_certificate_side(tmp_path: Path) -> Iterator[tuple[LabServer, LabServer, list]]:
    """HTTPS with an expired self-signed certificate; cleartext redirecting to it."""
    leaf = make_leaf(
        None,
        not_before=now() - datetime.timedelta(days=60),
        not_after=now() - datetime.timedelta(days=1),
    )
    cert, key = write_chain(tmp_path, "expired", leaf)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list[dict[str, str]] = []
    with (
        LabServer(api_app(seen), ssl_context=context) as https,
        LabServer(redirecting_app(https.port)) as http,
    ):
        yield http, https, seen


def test_https_side_named_by_a_redirect_gets_the_tls_and_certificate_scan(bad_certificate_side):
    http, https, _ = bad_certificate_side
    report = scan([parse_target(f"{http.url}/v1/resource")], options=ScanOptions(**FAST))
    outcomes = {o.check: o for o in report.outcomes}
    assert outcomes["tls"].status is OutcomeStatus.COMPLETED, outcomes["tls"]
    rules = {f.rule_id for f in report.findings}
    assert {"KW601", "KW603"} <= rules, rules  # expired, self-signed
    expired = next(f for f in report.findings if f.rule_id == "KW601")
    assert f"127.0.0.1:{https.port}" in expired.message
    details = report.targets[0].details["tls"]
    assert details["endpoint"] == f"127.0.0.1:{https.port}"
    assert details["found_through"] == "the cleartext side's redirect"
    assert outcomes["hsts"].status is OutcomeStatus.COMPLETED  # and HSTS is judged there too
    assert "KW140" in rules


def test_credentials_are_not_sent_to_a_side_only_a_redirect_named(tmp_path, lab_api):
    """The redirect could be forged on the path: credentials go only where the user points."""
    api = lab_api()
    app = Flask("redirect_to_lab_https")

    @app.before_request
    def to_https():  # type: ignore[no-untyped-def]
        return redirect(f"https://127.0.0.1:{api.https.port}/v1/resource", 301)

    before = len(api.behaviour.seen)
    with LabServer(app) as http:
        report = scan(
            [parse_target(f"{http.url}/v1/resource")],
            options=ScanOptions(
                ca_file=api.ca_file, headers={"X-API-Key": "lab-valid-key-000000000001"}, **FAST
            ),
        )
    outcomes = {o.check: o for o in report.outcomes}
    assert outcomes["tls"].status is OutcomeStatus.COMPLETED
    assert f"--https-port {api.https.port}" in outcomes["authenticated"].reason
    sent = [h for h in api.behaviour.seen[before:] if "X-Api-Key" in h or "X-API-Key" in h]
    assert sent == []


def test_without_any_https_side_the_skip_reason_says_how_to_give_one():
    app = Flask("cleartext_only")

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        return jsonify(data="x")

    with LabServer(app) as http:
        # (--only tls alone is refused before any traffic: nothing could name the HTTPS side)
        report = scan(
            [parse_target(f"{http.url}/v1/resource")],
            options=ScanOptions(only=("tls", "hsts"), **FAST),
        )
    outcome = next(o for o in report.outcomes if o.check == "tls")
    assert outcome.status is OutcomeStatus.SKIPPED
    assert "--https-port" in outcome.reason


def test_an_explicit_https_port_wins_over_the_redirect(bad_certificate_side, lab_api):
    """Near-miss: --https-port names the side; the redirect does not move the scan elsewhere."""
    http, _, _ = bad_certificate_side
    api = lab_api()
    report = scan(
        [parse_target(f"{http.url}/v1/resource", https_port=api.https.port)],
        options=ScanOptions(ca_file=api.ca_file, only=("tls",), **FAST),
    )
    assert report.targets[0].details["tls"]["endpoint"] == f"127.0.0.1:{api.https.port}"
    assert not {"KW601", "KW603"} & {f.rule_id for f in report.findings}
