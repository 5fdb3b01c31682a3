"""What OpenSSL 3 cannot serve, from the scripted responder: SSLv2, EXPORT, compression,
insecure renegotiation, tiny DH groups, weak curves, ignored fallback signals, and hostile
answers that must end as "not tested" quickly, never as a crash, a hang or a false finding."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from keywire import OutcomeStatus
from keywire.tls._suite_table import SSL2_CIPHERS
from labs.tlsresponder import HOSTILE_MODES, ResponderProfile, TlsResponder

from .conftest import completed, rule_ids, scan_tls

NO_TLS13 = {"KW406"}  # the responder speaks TLS <= 1.2 only

CASES = {
    "sslv2-only": (
        dict(versions=(), ssl2_ciphers=tuple(c for c, _ in SSL2_CIPHERS[:7])),
        {"KW401", "KW405"},
    ),
    "export": (
        dict(versions=(0x0301,), suites=(0x0003, 0x0006, 0x0008), export_rsa_bits=512),
        {"KW403", "KW405", "KW412", "KW413", "KW416", "KW417", "KW419", "KW422"},
    ),
    "compression-no-renegotiation": (
        dict(versions=(0x0303,), suites=(0xC02F,), compression=True, renegotiation_info=False),
        NO_TLS13 | {"KW424", "KW425"},
    ),
    "compression-near-miss": (dict(versions=(0x0303,), suites=(0xC02F,)), NO_TLS13),
    "dh-512": (dict(versions=(0x0303,), suites=(0x009E,), dh_bits=512), NO_TLS13 | {"KW422"}),
    "dh-3072-near-miss": (dict(versions=(0x0303,), suites=(0x009E,), dh_bits=3072), NO_TLS13),
    "secp160r1": (dict(versions=(0x0303,), suites=(0xC02F,), curve=16), NO_TLS13 | {"KW423"}),
    "secp384r1-near-miss": (dict(versions=(0x0303,), suites=(0xC02F,), curve=24), NO_TLS13),
    "fallback-ignored": (
        dict(versions=(0x0301, 0x0302, 0x0303), suites=(0xC02F, 0xC013), honor_fallback_scsv=False),
        NO_TLS13 | {"KW403", "KW404", "KW407", "KW416"},
    ),
    "fallback-honoured": (
        dict(versions=(0x0301, 0x0302, 0x0303), suites=(0xC02F, 0xC013)),
        NO_TLS13 | {"KW403", "KW404", "KW416"},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_responder_profile(tls_pki, name: str) -> None:
    settings, expected = CASES[name]
    cert = tls_pki.leaves["rsa-2048"].cert.public_bytes(Encoding.DER)
    with TlsResponder(ResponderProfile(certificate=cert, **settings)) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert result.scanned, result.error
    assert completed(result), result.outcomes
    assert rule_ids(result) == expected, [f.message for f in result.findings]


def test_sslv2_details_list_the_server_ciphers(tls_pki) -> None:
    cert = tls_pki.leaves["good"].cert.public_bytes(Encoding.DER)
    profile = ResponderProfile(versions=(), ssl2_ciphers=(0x010080, 0x020080), certificate=cert)
    with TlsResponder(profile) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    sslv2 = result.details["tls"]["protocols"]["SSLv2"]
    assert sslv2["status"] == "offered"
    assert sslv2["suites"] == ["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_RC4_128_EXPORT40_WITH_MD5"]


@pytest.mark.parametrize("mode", HOSTILE_MODES)
def test_hostile_answers_are_not_tested_quickly(mode: str) -> None:
    with TlsResponder(ResponderProfile(hostile=mode)) as server:
        started = time.monotonic()
        result = scan_tls(server.url, timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 8, f"{mode}: {elapsed:.1f}s"
    assert not result.findings, [f.message for f in result.findings]
    (outcome,) = result.outcomes
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.reason


def test_refused_port_is_reported_once_and_fast() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    result = scan_tls(f"https://localhost:{port}/", timeout=2.0)
    assert time.monotonic() - started < 2
    assert not result.scanned
    assert "refused" in result.error
    assert result.details["tls"]["connections"] <= 5


def test_post_quantum_hybrids_are_found_through_retry_requests(tls_pki) -> None:
    cert = tls_pki.leaves["rsa-2048"].cert.public_bytes(Encoding.DER)
    profile = ResponderProfile(
        versions=(0x0303,),
        suites=(0xC02F,),
        certificate=cert,
        tls13_suites=(0x1302, 0x1301),
        tls13_groups=(0x11EC, 0x6399, 29),
    )
    with TlsResponder(profile) as server:
        result = scan_tls(server.url, ca_file=tls_pki.ca_file)
    assert completed(result), result.outcomes
    assert not result.findings, [f.message for f in result.findings]
    tls = result.details["tls"]
    assert tls["protocols"]["TLSv1.3"]["suites"] == [
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
    ]
    assert tls["groups"]["tls13"] == ["x25519", "X25519MLKEM768", "X25519Kyber768Draft00"]
    assert tls["fallback_scsv"] is True


def test_groups_keywire_cannot_compute_are_not_tested_not_unsupported() -> None:
    profile = ResponderProfile(versions=(), tls13_suites=(0x1301,), tls13_groups=(0x11EC,))
    with TlsResponder(profile) as server:
        result = scan_tls(server.url)
    tls = result.details["tls"]
    assert tls["protocols"]["TLSv1.3"]["status"] == "offered"
    assert tls["groups"]["tls13"] == ["X25519MLKEM768"]
    (outcome,) = result.outcomes
    assert outcome.status is OutcomeStatus.ERROR
    assert "keywire cannot compute" in outcome.reason
    assert not result.findings
