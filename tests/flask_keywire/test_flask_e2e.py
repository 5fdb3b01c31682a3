"""The closed loop with real servers on loopback: the seed grades F, the hardened API grades A.

The hardened API runs as it would in production: HTTPS with :func:`flask_keywire.server_context`
and a certificate from the lab CA, and the same application on a cleartext port, where it refuses
everything with 403. keywire scans both sides like any target.
"""

from __future__ import annotations

import secrets
import shutil
import ssl
import time

import httpx
import pytest
from click.testing import CliRunner

from flask_keywire import SQLiteKeyStore, server_context
from keywire import ScanOptions, Severity, parse_target, scan
from keywire.lab.certs import make_lab_pki
from keywire.lab.hardened import create_hardened_app
from keywire.lab.seed import create_seed_app
from keywire.lab.server import LabServer


@pytest.fixture(scope="module")
def pki():
    pki = make_lab_pki()
    yield pki
    shutil.rmtree(pki.directory, ignore_errors=True)


@pytest.fixture
def hardened(pki, tmp_path):
    """(app, key, https server, http server) for the hardened API."""
    app = create_hardened_app(
        store=SQLiteKeyStore(tmp_path / "keys.sqlite3"), pepper=secrets.token_urlsafe(48)
    )
    with app.app_context():
        key, _ = app.extensions["keywire"].extension.create_key("client-a", scopes=["read"])
    with (
        LabServer(app, ssl_context=server_context(pki.cert_file, pki.key_file)) as https_server,
        LabServer(app) as http_server,
    ):
        yield app, key, https_server, http_server


def _options(pki) -> ScanOptions:
    return ScanOptions(timeout=5.0, scan_timeout=60.0, ca_file=str(pki.ca_file))


def test_hardened_api_grades_a_with_nothing_medium_or_worse(pki, hardened):
    _app, key, https_server, http_server = hardened
    target = parse_target(f"{https_server.url}/v1/resource", http_port=http_server.port)
    started = time.perf_counter()
    report = scan([target], options=_options(pki))
    elapsed = time.perf_counter() - started
    result = report.targets[0]
    assert result.scanned, result.error
    assert [f.rule_id for f in result.findings if f.severity >= Severity.MEDIUM] == []
    assert report.score is not None and report.score.grade == "A", report.score
    assert report.complete, [o for o in result.outcomes if o.reason]
    # Both sides were really exercised: cleartext refused with 403, HTTPS answered 401.
    details = result.details
    assert details["cleartext"]["cleartext"] == "refused (403)"
    assert details["hsts"]["hsts"] == "max-age=63072000; includeSubDomains"
    statuses = {e["probe"]: e.get("status") for e in details["exchanges"]}
    assert statuses["http-baseline"] == 403 and statuses["https-baseline"] == 401
    tls = next(e["tls"] for e in details["exchanges"] if e["probe"] == "https-baseline")
    assert tls["verified"] and tls["version"] in ("TLSv1.3", "TLSv1.2")
    assert elapsed < 30
    # The scan's canaries were worthless: the real key still works.
    with httpx.Client(verify=ssl.create_default_context(cafile=str(pki.ca_file))) as client:
        response = client.get(f"{https_server.url}/v1/resource", headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json() == {"data": "sensitive resource", "owner": "client-a"}


def test_seed_api_grades_f(pki):
    with LabServer(create_seed_app()) as seed:
        report = scan([f"{seed.url}/v1/resource"], options=_options(pki))
    assert report.score is not None and report.score.grade == "F"
    # The seed answers a missing and a wrong key alike (no KW110), but asks for keys over
    # cleartext: KW101 and what it means for authentication, data and integrity (KW111-KW113).
    assert {"KW101", "KW111", "KW112", "KW113"} <= {f.rule_id for f in report.findings}


def test_real_key_sent_to_the_cleartext_port_is_revoked(pki, hardened):
    _app, key, https_server, http_server = hardened
    verify = ssl.create_default_context(cafile=str(pki.ca_file))
    with httpx.Client() as cleartext:
        leaked = cleartext.get(f"{http_server.url}/v1/resource", headers={"X-API-Key": key})
        nothing = cleartext.get(f"{http_server.url}/v1/resource")
    assert leaked.status_code == nothing.status_code == 403
    assert leaked.content == nothing.content
    with httpx.Client(verify=verify) as client:
        after = client.get(f"{https_server.url}/v1/resource", headers={"X-API-Key": key})
    assert after.status_code == 401
    assert "cleartext" in after.json()["message"]


def test_keywire_demo_shows_f_to_a():
    from keywire.cli import main

    started = time.perf_counter()
    result = CliRunner().invoke(main, ["demo", "--format", "json", "--fail-on", "none"])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.stderr
    assert "F → A" in result.stderr
    import json

    report = json.loads(result.stdout)
    grades = [t["score"]["grade"] for t in report["targets"]]
    assert grades[0] == "F" and grades[-1] == "A"
    assert elapsed < 60
