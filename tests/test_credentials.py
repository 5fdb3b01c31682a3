"""A user-supplied credential is only ever sent over HTTPS that verified, to the host the user named.

Every lab server records the headers of every request it receives; these tests scan with a
credential and then search every recorded request, every output format and every log line for it.
"""

from __future__ import annotations

import json
import logging

from click.testing import CliRunner

from keywire import ScanOptions, parse_target, scan
from keywire.cli import main
from keywire.lab import LabServer
from labs.apps import Behaviour, make_app

SECRET = "user-secret-key-9f2c4e6a8b0d1f3e5a7c"


def _leaked(behaviour: Behaviour) -> list[dict[str, str]]:
    return [req for req in behaviour.seen if any(SECRET in v for v in req.values())]


def test_never_sent_to_a_cleartext_target():
    behaviour = Behaviour(refuse_cleartext=False)
    with LabServer(make_app(behaviour)) as server:
        report = scan(
            server.url + "/v1/resource",
            options=ScanOptions(headers={"X-API-Key": SECRET}, timeout=5),
        )
    assert report.scanned_any
    assert behaviour.seen, "the lab saw no request at all"
    assert _leaked(behaviour) == []
    # the canary, not the user's key, is what crossed cleartext
    assert any("kw_canary_" in req.get("X-Api-Key", "") for req in behaviour.seen)


def test_sent_over_verified_https_only_and_not_after_a_downgrade(lab_api):
    api = lab_api()
    api.behaviour.https_redirect_to = f"http://127.0.0.1:{api.http.port}/v1/other"
    report = scan(
        [api.target()],
        options=ScanOptions(headers={"Authorization": f"Bearer {SECRET}"}, ca_file=api.ca_file),
    )
    https_requests = [r for r in api.behaviour.seen if r["url"].startswith("https://")]
    http_requests = [r for r in api.behaviour.seen if r["url"].startswith("http://")]
    assert any(SECRET in r.get("Authorization", "") for r in https_requests), (
        "the credential should be used over verified HTTPS"
    )
    assert http_requests, "the cleartext side was not probed"
    assert not any(SECRET in v for r in http_requests for v in r.values())
    assert "KW105" in {f.rule_id for f in report.findings}


def test_never_sent_when_the_certificate_does_not_verify(lab_api):
    api = lab_api()
    report = scan(
        [api.target()],
        options=ScanOptions(headers={"X-API-Key": SECRET}),  # no CA file: untrusted
    )
    assert report.scanned_any, "anonymous probes still run over unverified TLS"
    assert _leaked(api.behaviour) == []


def test_never_sent_to_another_host(lab_api, server_context, ca_file):
    """The target redirects to another host name; that host never sees the credential."""
    other = Behaviour()
    with LabServer(make_app(other), ssl_context=server_context) as other_server:
        api = lab_api()
        api.behaviour.https_redirect_to = f"https://localhost:{other_server.port}/v1/resource"
        scan(
            [api.target()],
            options=ScanOptions(headers={"X-API-Key": SECRET}, ca_file=ca_file),
        )
    assert _leaked(other) == []


def test_not_in_any_output_or_log(lab_api, caplog):
    api = lab_api(refuse_cleartext=False, body={"echo": "nothing"})
    runner = CliRunner()
    caplog.set_level(logging.DEBUG, logger="keywire")
    outputs = []
    for fmt in ("json", "console"):
        result = runner.invoke(
            main,
            [
                "scan",
                api.https.url + "/v1/resource",
                "--http-port",
                str(api.http.port),
                "--ca-file",
                api.ca_file,
                "--header",
                f"X-API-Key: {SECRET}",
                "--format",
                fmt,
                "-vv",
            ],
        )
        outputs += [result.stdout, result.stderr]
        if fmt == "json":
            document = json.loads(result.stdout)
            assert document["options"]["headers"]["X-API-Key"] != SECRET
    assert any(SECRET in r.get("X-Api-Key", "") for r in api.behaviour.seen)
    for text in [*outputs, caplog.text]:
        assert SECRET not in text


def test_credential_requires_the_allowlist():
    import pytest

    with pytest.raises(ValueError, match="only Authorization, Cookie and X-"):
        ScanOptions(headers={"Host": "evil.example"})


def test_policy_failure_is_recorded_not_sent():
    """A cleartext target with credentials: the authenticated probe is refused by policy."""
    import asyncio

    from keywire.net.http import ClientSettings, FailureKind, FetchFailure, HttpClient

    async def attempt() -> object:
        async with HttpClient(ClientSettings(credentials={"X-API-Key": SECRET})) as client:
            return await client.fetch(
                "http://127.0.0.1:9/", probe="t", credentials_origin="https://127.0.0.1:9"
            )

    result = asyncio.run(attempt())
    assert isinstance(result, FetchFailure)
    assert result.kind is FailureKind.POLICY
    assert parse_target("http://127.0.0.1:9/").scheme == "http"


# -- spec-driven scans -------------------------------------------------------------------------


def _spec(server_url: str, path: str = "/v1/resource") -> dict[str, object]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "credential lab", "version": "1"},
        "servers": [{"url": server_url}],
        "security": [{"key": []}],
        "components": {
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        },
        "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}},
    }


def test_spec_scan_never_sends_credentials_over_cleartext(server_context, ca_file):
    """The spec lab's cleartext side serves the API; only canaries ever reach it."""
    from labs.spec_api import SpecLabState, create_spec_app

    state = SpecLabState(contradicting=True)
    app = create_spec_app(state)
    with LabServer(app, ssl_context=server_context) as https, LabServer(app) as http:
        report = scan(
            [],
            options=ScanOptions(
                spec=https.url + "/openapi.json",
                headers={"X-API-Key": SECRET},
                ca_file=ca_file,
                http_port=http.port,
                timeout=5,
            ),
        )
    assert "KW101" in {f.rule_id for f in report.findings}
    cleartext = [r for r in state.seen if r["url"].startswith("http://")]
    verified = [r for r in state.seen if r["url"].startswith("https://")]
    assert len(cleartext) > 10
    assert not any(SECRET in v for r in cleartext for v in r.values())
    endpoints = {r["url"] for r in verified if SECRET in r.get("X-Api-Key", "")}
    assert len(endpoints) >= 5, "the credential should reach every endpoint over verified HTTPS"


def test_spec_scan_never_follows_a_redirect_to_http_with_credentials(lab_api, tmp_path):
    api = lab_api(refuse_cleartext=False)
    api.behaviour.https_redirect_to = f"http://127.0.0.1:{api.http.port}/v1/elsewhere"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(_spec(api.https.url)))
    report = scan(
        [],
        options=ScanOptions(
            spec=str(spec),
            headers={"Authorization": f"Bearer {SECRET}"},
            ca_file=api.ca_file,
            http_port=api.http.port,
            timeout=5,
        ),
    )
    assert report.scanned_any
    https_requests = [r for r in api.behaviour.seen if r["url"].startswith("https://")]
    http_requests = [r for r in api.behaviour.seen if r["url"].startswith("http://")]
    assert any(SECRET in r.get("Authorization", "") for r in https_requests)
    assert any(r["url"].endswith("/v1/elsewhere") for r in http_requests), "the redirect was seen"
    assert not any(SECRET in v for r in http_requests for v in r.values())


def test_spec_from_a_url_cannot_draw_credentials_to_another_host(lab_api, server_context, ca_file):
    """A spec fetched from 127.0.0.1 lists a server on localhost: that host is scanned anonymously."""
    other = Behaviour()
    with LabServer(make_app(other), ssl_context=server_context, host="localhost") as other_server:
        publisher = lab_api(require_key=False, body=_spec(f"https://localhost:{other_server.port}"))
        report = scan(
            [],
            options=ScanOptions(
                spec=publisher.https.url + "/openapi.json",
                headers={"X-API-Key": SECRET},
                ca_file=ca_file,
                timeout=5,
            ),
        )
    assert other.seen, "the endpoint on the other host was probed"
    assert _leaked(other) == []
    withheld = report.targets[0].details["openapi"]["credentials_withheld_from"]
    assert withheld == [f"https://localhost:{other_server.port}"]
    assert _leaked(publisher.behaviour) == []  # the spec itself is fetched anonymously


def test_spec_file_servers_are_the_users_choice(server_context, ca_file, tmp_path):
    """Positive control for the test above: a local spec file's servers do get the credential."""
    other = Behaviour()
    with LabServer(make_app(other), ssl_context=server_context, host="localhost") as other_server:
        spec = tmp_path / "spec.json"
        spec.write_text(json.dumps(_spec(f"https://localhost:{other_server.port}")))
        scan(
            [],
            options=ScanOptions(
                spec=str(spec), headers={"X-API-Key": SECRET}, ca_file=ca_file, timeout=5
            ),
        )
    assert _leaked(other), "the credential should be used over verified HTTPS"
    assert all(r["url"].startswith("https://") for r in _leaked(other))
