"""The lab of issue 13: every probe past the first flight against a server that has the flaw and
a near miss that differs only in that flaw (scripted responder, openssl s_server, Python ssl)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from keywire import OutcomeStatus
from labs.depthlab import (
    NGINX_CASES,
    OPENSSL_CASES,
    RESPONDER_CASES,
    openssl_options,
    responder_profile,
)
from labs.nginxserver import NginxServer
from labs.opensslserver import OpensslServer
from labs.tlslab import SSL_PROFILES
from labs.tlsresponder import TlsResponder

from .conftest import completed, require_tool, rule_ids, scan_tls

DEPTH_RULES = {f"KW{n}" for n in range(426, 440)}


def _responder_scan(tls_pki, name: str):
    leaf = tls_pki.leaves["rsa-2048"]
    profile = responder_profile(name, leaf.cert.public_bytes(Encoding.DER), leaf.key_pem())
    with TlsResponder(profile) as server:
        return scan_tls(server.url, ca_file=tls_pki.ca_file)


@pytest.mark.parametrize("name", list(RESPONDER_CASES))
def test_responder_case(tls_pki, name: str) -> None:
    result = _responder_scan(tls_pki, name)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == set(RESPONDER_CASES[name].expect), [
        f.message for f in result.findings
    ]


@pytest.mark.parametrize("name", list(OPENSSL_CASES))
def test_openssl_case(tls_pki, name: str) -> None:
    require_tool("openssl")
    cert, key = tls_pki.files("good")
    with OpensslServer(cert, key, openssl_options(name)) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert completed(result), result.outcomes
    assert rule_ids(result) == set(OPENSSL_CASES[name].expect), [f.message for f in result.findings]


@pytest.mark.tools
@pytest.mark.parametrize("name", list(NGINX_CASES))
def test_nginx_case(tls_pki, name: str) -> None:
    require_tool("nginx", "/usr/sbin/nginx")
    cert, key = tls_pki.files("good")
    with NginxServer(cert, key, NGINX_CASES[name].settings.get("directives", ())) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert completed(result), result.outcomes
    assert rule_ids(result) == set(NGINX_CASES[name].expect), [f.message for f in result.findings]
    resumption = result.details["tls"]["resumption"]
    if name == "nginx-session-cache":
        assert (resumption["session_id"], resumption["ticket"]) == (True, False)
    else:
        # The server issues tickets: session IDs are not tried then.
        assert (resumption["session_id"], resumption["ticket"]) == (None, True)
        assert resumption["note"].startswith(
            "the server issues tickets: resumption by session ID was not tried"
        )


@pytest.mark.parametrize(
    "cases",
    [RESPONDER_CASES, OPENSSL_CASES, NGINX_CASES, {p.name: p for p in SSL_PROFILES}],
    ids=["responder", "openssl", "nginx", "python-ssl"],
)
def test_every_depth_flaw_has_a_near_miss_without_it(cases) -> None:
    for name, case in cases.items():
        flaws = set(case.expect) & DEPTH_RULES
        if not flaws:
            continue
        assert case.near_miss in cases, name
        near = set(cases[case.near_miss].expect)
        assert near == set(case.expect) - flaws, (name, case.near_miss)


def test_vulnerability_probes_can_be_turned_off(tls_pki) -> None:
    from keywire import ScanOptions, StaticResolver, scan

    from .conftest import LAB_NAMES

    leaf = tls_pki.leaves["rsa-2048"]
    profile = responder_profile("heartbleed", leaf.cert.public_bytes(Encoding.DER), leaf.key_pem())
    with TlsResponder(profile) as server:
        report = scan(
            server.url,
            options=ScanOptions(
                only=("tls",), ca_file=str(tls_pki.ca_file), vulnerability_probes=False
            ),
            resolver=StaticResolver(LAB_NAMES),
        )
    target = report.targets[0]
    assert {f.rule_id for f in target.findings} == {"KW406"}
    assert target.outcomes[0].status is OutcomeStatus.COMPLETED
    probes = target.details["tls"]["probes"]
    for name in ("Heartbleed", "CCS injection", "ROBOT"):
        assert probes[name] == {
            "completed": False,
            "skipped": True,
            "reason": "not run: --no-vulnerability-probes",
        }
    assert target.details["tls"]["vulnerabilities"] == {}
    assert report.options["vulnerability_probes"] is False


@pytest.mark.parametrize("max_version", ["TLSv1.2", "TLSv1.3"])
def test_a_server_that_requires_a_client_certificate(tls_pki, max_version) -> None:
    """keywire has no client certificate: the probes that need a completed handshake say so
    (skipped, keywire's limit), and the scan is complete, not failed."""
    import ssl

    from labs.tlsserver import SslLabServer, server_context

    cert, key = tls_pki.files("rsa-2048")
    context = server_context(
        cert, key, ciphers="ECDHE+AESGCM:AES128-GCM-SHA256", max_version=max_version
    )
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(tls_pki.ca_file))
    with SslLabServer(context) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert result.outcomes[0].status is OutcomeStatus.COMPLETED, result.outcomes
    probes = result.details["tls"]["probes"]
    for name in ("client-initiated renegotiation", "session resumption", "ROBOT"):
        assert probes[name]["skipped"] is True
        assert "client certificate" in probes[name]["reason"]
    assert probes["Heartbleed"]["completed"] and probes["CCS injection"]["completed"]
    assert result.details["tls"]["renegotiation"]["client_initiated_honoured"] is None
