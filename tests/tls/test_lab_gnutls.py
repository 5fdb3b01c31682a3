"""gnutls-serv serves RC4 and 3DES, which OpenSSL 3 cannot; kept on loopback by a bind shim."""

from __future__ import annotations

import pytest

from keywire.lab.gnutls import GnutlsServer, _is_loopback, _listeners

from .conftest import completed, require_tool, rule_ids, scan_tls

pytestmark = pytest.mark.tools

BASE = "+AEAD:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"
CASES = {
    "rc4-3des": (
        f"NONE:+VERS-TLS1.2:+RSA:+ECDHE-RSA:+AES-128-GCM:+ARCFOUR-128:+3DES-CBC:+MD5:{BASE}",
        {"KW406", "KW413", "KW415", "KW418"},
    ),
    "modern-near-miss": (
        f"NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-RSA:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:{BASE}",
        set(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gnutls_profile(tls_pki, name: str) -> None:
    binary = require_tool("gnutls-serv")
    priority, expected = CASES[name]
    cert, key = tls_pki.files("rsa-2048")
    with GnutlsServer(priority, cert, key, executable=binary) as server:
        listening = _listeners(server.port)
        assert listening and all(_is_loopback(a) for a in listening), listening
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == expected, [f.message for f in result.findings]
