"""Issue 13 item 9: expiry ahead, a leaf outliving its issuer, EKU, CN-only and huge chains.

Pure checks on hand-built chain analyses (the lab servers are in tests/tls/test_lab_ssl.py,
profiles ``expires-*``, ``outlives-issuer``, ``eku-client-only``, ``no-eku``, ``cn-only``,
``huge-chain`` and their near misses).
"""

from __future__ import annotations

import pytest

from keywire import Severity
from keywire.checks._cert_depth import OPENSSL_MAX_CERT_LIST, certificate_message_bytes
from keywire.checks.tls import check

from .test_tls_check import DAY, NOW, cert, chain, observe


def findings(analysis):
    return check(observe(chains=(analysis,)))


def ids(analysis) -> set[str]:
    return {f.rule_id for f in findings(analysis)}


@pytest.mark.parametrize(
    ("days_left", "severity"),
    [(29, Severity.MEDIUM), (7, Severity.MEDIUM), (6, Severity.HIGH), (0.5, Severity.HIGH)],
)
def test_expiry_within_30_days_is_medium_and_within_7_high(days_left, severity) -> None:
    analysis = chain(cert(not_before=NOW - 60 * DAY, not_after=NOW + days_left * DAY))
    (finding,) = findings(analysis)
    assert finding.rule_id == "KW620"
    assert finding.severity is severity
    assert "expires on" in finding.message


def test_no_expiry_warning_at_31_days_nor_once_expired() -> None:
    assert ids(chain(cert(not_after=NOW + 31 * DAY))) == set()
    assert ids(chain(cert(not_after=NOW - DAY))) == {"KW601"}


def test_an_intermediate_expiring_soon_is_reported_too() -> None:
    intermediate = cert(
        subject="CN=CA", issuer="CN=Root", not_after=NOW + 10 * DAY, is_ca=True, sha256="ef" * 32
    )
    leaf = cert(not_after=NOW + 5 * DAY)
    found = findings(chain(leaf, intermediate, path_length=2))
    assert sorted((f.rule_id, f.severity) for f in found) == [
        ("KW620", Severity.MEDIUM),
        ("KW620", Severity.HIGH),
    ]


def test_leaf_outliving_its_served_issuer() -> None:
    intermediate = cert(subject="CN=CA", issuer="CN=Root", not_after=NOW + 60 * DAY, is_ca=True)
    assert ids(chain(cert(not_after=NOW + 90 * DAY), intermediate, path_length=2)) == {"KW621"}
    assert ids(chain(cert(not_after=NOW + 50 * DAY), intermediate, path_length=2)) == set()


def test_leaf_outliving_its_root_anchor() -> None:
    analysis = chain(cert(not_after=NOW + 90 * DAY), anchor_not_after=NOW + 40 * DAY)
    assert ids(analysis) == {"KW621"}
    assert ids(chain(cert(not_after=NOW + 90 * DAY), anchor_not_after=NOW + 400 * DAY)) == set()


def test_eku_without_server_auth_explains_the_failed_verification() -> None:
    analysis = chain(
        cert(extended_key_usage=("clientAuth",)),
        trusted=False,
        verify_error="the extended key usage does not include TLS server authentication",
    )
    (finding,) = findings(analysis)
    assert finding.rule_id == "KW622"  # not KW604 "does not verify" on top
    assert finding.severity is Severity.HIGH
    assert "clientAuth" in finding.message


def test_server_gated_crypto_counts_as_server_auth() -> None:
    assert ids(chain(cert(extended_key_usage=("msSGC",)))) == set()


def test_missing_eku_is_low() -> None:
    (finding,) = findings(chain(cert(extended_key_usage=None)))
    assert (finding.rule_id, finding.severity) == ("KW623", Severity.LOW)


def test_cn_only_certificate_is_one_finding_not_a_name_mismatch() -> None:
    leaf = cert(dns_names=(), has_san=False, common_name="api.example")
    analysis = chain(leaf, trusted=False, hostname_matches=False, verify_error="no SAN")
    (finding,) = findings(analysis)
    assert finding.rule_id == "KW624"
    assert "clients ignore it" in finding.message


def test_cn_only_with_another_name_says_so() -> None:
    leaf = cert(dns_names=(), has_san=False, common_name="other.example")
    (finding,) = findings(chain(leaf, trusted=False, hostname_matches=False))
    assert "'other.example'" in finding.message


def test_a_chain_over_100_kib_is_an_interoperability_finding() -> None:
    big = cert(der_bytes=470_000, dns_names=tuple(f"n{i}.example" for i in range(10_000)))
    (finding,) = findings(chain(big))
    assert (finding.rule_id, finding.severity) == ("KW625", Severity.LOW)
    assert "10,000 names" in finding.message
    assert ids(chain(cert(der_bytes=OPENSSL_MAX_CERT_LIST - 100))) == set()


def test_certificate_message_size_counts_the_framing() -> None:
    assert certificate_message_bytes((cert(der_bytes=1000), cert(der_bytes=500))) == 7 + 1003 + 503
