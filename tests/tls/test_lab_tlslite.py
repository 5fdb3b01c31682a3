"""tlslite-ng (pure Python) serves what OpenSSL 3 cannot: SSL 3.0, RC4, 3DES, RSA key
exchange. Its TLS 1.3 is a second, independent implementation for keywire's decryption."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from keywire.tls.connection import Dialer, Endpoint
from keywire.tls.tls13 import read_encrypted_flight
from labs.tlsliteserver import TlsliteProfile, TlsliteServer

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
        assert details["alpn"] == ["h2"]
    else:
        assert "TLS_RSA_WITH_RC4_128_MD5" in details["protocols"]["SSLv3"]["suites"]


@pytest.mark.parametrize("suite", ["aes128gcm", "aes256gcm", "chacha20-poly1305"])
def test_tls13_flight_of_tlslite_decrypts(tls_pki, suite: str) -> None:
    """keywire's TLS 1.3 key schedule and AEAD against a second implementation."""
    leaf = tls_pki.leaves["rsa-2048"]
    profile = TlsliteProfile(
        versions=((3, 3), (3, 4)), ciphers=(suite,), key_exchange=("ecdhe_rsa",), alpn=("h2",)
    )
    with TlsliteServer(profile, leaf.cert_pem(), leaf.key_pem()) as server:
        endpoint = Endpoint(
            host="localhost", address="127.0.0.1", port=server.port, server_name="localhost"
        )
        flight = asyncio.run(read_encrypted_flight(Dialer(timeout=5), endpoint))
    assert flight.ok, flight.reason
    assert flight.certificates[0] == leaf.cert.public_bytes(Encoding.DER)
    assert flight.alpn == "h2"
    assert (
        flight.cipher_suite
        == {"aes128gcm": 0x1301, "aes256gcm": 0x1302, "chacha20-poly1305": 0x1303}[suite]
    )
