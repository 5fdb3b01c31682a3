"""tlslite-ng (pure Python) serves what OpenSSL 3 cannot: SSL 3.0, RC4, 3DES, RSA key
exchange. Its TLS 1.3 is a second, independent implementation for keywire's decryption."""

from __future__ import annotations

import pytest

from keywire.lab.tlsliteserver import TlsliteProfile, TlsliteServer

from .conftest import completed, rule_ids, scan_tls

CASES = {
    "sslv3-rc4-3des": (
        TlsliteProfile(
            versions=((3, 0), (3, 1), (3, 2), (3, 3)),
            ciphers=("aes128gcm", "aes128", "rc4", "3des"),
            key_exchange=("rsa",),
            macs=("aead", "sha", "md5"),
        ),
        {"KW402", "KW403", "KW404", "KW406", "KW413", "KW415", "KW416", "KW417"},
    ),
    "modern-near-miss": (
        TlsliteProfile(
            versions=((3, 3), (3, 4)),
            ciphers=("aes128gcm", "aes256gcm", "chacha20-poly1305"),
            key_exchange=("ecdhe_rsa",),
            alpn=("h2", "http/1.1"),
        ),
        set(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tlslite_profile(tls_pki, name: str) -> None:
    profile, expected = CASES[name]
    leaf = tls_pki.leaves["rsa-2048"]
    with TlsliteServer(profile, leaf.cert_pem(), leaf.key_pem()) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == expected, [f.message for f in result.findings]
    details = result.details["tls"]
    if name == "modern-near-miss":
        assert details["protocols"]["TLSv1.3"]["status"] == "offered"
        assert details["probes"]["TLS 1.3 certificate"]["completed"]
        assert details["alpn"] == ["h2"]
    else:
        assert "TLS_RSA_WITH_RC4_128_MD5" in details["protocols"]["SSLv3"]["suites"]
