"""gnutls-serv serves RC4 and 3DES, which OpenSSL 3 cannot; kept on loopback by a bind shim."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from labs.gnutls import GnutlsServer, _is_loopback, _listeners

from .conftest import completed, require_tool, rule_ids, scan_tls

pytestmark = pytest.mark.tools

BASE = "+AEAD:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"
#: gnutls-serv honours client-initiated renegotiation (sslyze 6.3.1 agrees: 10 of 10).
RENEGOTIATION = {"KW426"}
CASES = {
    "rc4-3des": (
        f"NONE:+VERS-TLS1.2:+RSA:+ECDHE-RSA:+AES-128-GCM:+ARCFOUR-128:+3DES-CBC:+MD5:{BASE}",
        RENEGOTIATION | {"KW406", "KW413", "KW415", "KW418"},
    ),
    "modern-near-miss": (
        f"NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-RSA:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:{BASE}",
        RENEGOTIATION,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gnutls_profile(tls_pki, name: str) -> None:
    binary = require_tool("gnutls-serv")
    require_tool("gcc")
    priority, expected = CASES[name]
    cert, key = tls_pki.files("rsa-2048")
    with GnutlsServer(priority, cert, key, executable=binary) as server:
        listening = _listeners(server.port)
        assert listening and all(_is_loopback(a) for a in listening), listening
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == expected, [f.message for f in result.findings]


def _ocsp_response(tls_pki) -> bytes:
    leaf, root = tls_pki.leaves["rsa-2048"], tls_pki.root
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf.cert,
            issuer=root.cert,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now - datetime.timedelta(hours=1),
            next_update=now + datetime.timedelta(days=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, root.cert)
    )
    return builder.sign(root.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("stapled", [True, False])
def test_ocsp_stapling_is_seen_in_tls12_and_tls13(tls_pki, tmp_path, stapled: bool) -> None:
    binary = require_tool("gnutls-serv")
    require_tool("gcc")
    extra: list[str] = []
    if stapled:
        response = tmp_path / "ocsp.der"
        response.write_bytes(_ocsp_response(tls_pki))
        extra = ["--ocsp-response", str(response), "--ignore-ocsp-response-errors"]
    cert, key = tls_pki.files("rsa-2048")
    priority = f"NONE:+VERS-TLS1.3:+ECDHE-RSA:+AES-128-GCM:{BASE}"
    for versions in ("+VERS-TLS1.2", "+VERS-TLS1.3"):
        with GnutlsServer(
            priority.replace("+VERS-TLS1.3", versions),
            cert,
            key,
            executable=binary,
            extra_args=extra,
        ) as server:
            result = scan_tls(server.url, ca_file=tls_pki.ca_file)
        assert completed(result), result.outcomes
        assert result.details["tls"]["ocsp_stapling"] is stapled, versions
