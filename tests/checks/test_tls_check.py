"""The ``tls`` check is a pure function of the observation: hand-built facts, exact findings."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from keywire import Confidence, OutcomeStatus
from keywire.checks._base import CheckNotRun
from keywire.checks.tls import TlsObservation, check, details
from keywire.tls._constants import Group, Version
from keywire.tls.certs import CertInfo, ChainAnalysis
from keywire.tls.results import AcceptedSuite, ProbeStatus, ProtocolResult, TlsScanResult

NOW = datetime.datetime(2025, 6, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def proto(version: int, offered: bool | None = False, suites=(), **kw) -> ProtocolResult:
    accepted = tuple(s if isinstance(s, AcceptedSuite) else AcceptedSuite(code=s) for s in suites)
    return ProtocolResult(version=version, offered=offered, suites=accepted, **kw)


GOOD_PROTOCOLS = (
    proto(Version.SSL2),
    proto(Version.SSL3),
    proto(Version.TLS10),
    proto(Version.TLS11),
    proto(Version.TLS12, True, (0xC02F, 0xC030), server_preference=True),
    proto(Version.TLS13, True, (0x1301, 0x1302)),
)


def cert(**kw) -> CertInfo:
    base = dict(
        subject="CN=api.example",
        issuer="CN=CA",
        serial="1",
        not_before=NOW - 10 * DAY,
        not_after=NOW + 80 * DAY,
        key_type="EC secp256r1",
        key_bits=256,
        signature_algorithm="ecdsa-with-SHA256",
        signature_hash="sha256",
        dns_names=("api.example",),
        ip_addresses=(),
        sha256="ab" * 32,
        sha1="cd" * 20,
        is_ca=False,
    )
    base.update(kw)
    return CertInfo(**base)  # type: ignore[arg-type]


def chain(*certs: CertInfo, **kw) -> ChainAnalysis:
    base = dict(
        seen_with="TLSv1.2",
        hostname="api.example",
        checked_at=NOW,
        certificates=certs or (cert(),),
        trusted=True,
        path="trusted",
        path_length=len(certs or (1,)),
        anchor="CN=CA",
    )
    base.update(kw)
    return ChainAnalysis(**base)  # type: ignore[arg-type]


def observe(protocols=GOOD_PROTOCOLS, chains=(), **kw) -> TlsObservation:
    scan = TlsScanResult(
        host="api.example",
        address="192.0.2.1",
        port=443,
        server_name="api.example",
        reachable=True,
        protocols=protocols,
        groups=(Group.X25519,),
        groups_legacy=(Group.X25519,),
        fallback_scsv=True,
        secure_renegotiation=True,
        compression=False,
        ocsp_stapling=False,
        alpn=("h2",),
        probes=(ProbeStatus(name="protocol TLSv1.2", completed=True),),
    )
    scan = dataclasses.replace(scan, **kw)
    return TlsObservation(
        target="https://api.example/",
        endpoint="api.example:443",
        scan=scan,
        chains=chains or (chain(),),
    )


def ids(obs: TlsObservation) -> set[str]:
    return {f.rule_id for f in check(obs)}


def test_a_good_server_has_no_findings() -> None:
    assert ids(observe()) == set()
    json.dumps(details(observe()))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {
                "protocols": (
                    *GOOD_PROTOCOLS[:1],
                    proto(Version.SSL3, True, (0x000A,)),
                    *GOOD_PROTOCOLS[2:],
                )
            },
            {"KW402", "KW415", "KW416", "KW418"},
        ),
        ({"protocols": (proto(Version.SSL2, True, (0x010080,)), *GOOD_PROTOCOLS[1:])}, {"KW401"}),
        (
            {"protocols": (*GOOD_PROTOCOLS[:4], proto(Version.TLS12), proto(Version.TLS13))},
            {"not tested"},
        ),
        (
            {
                "protocols": (
                    *GOOD_PROTOCOLS[:3],
                    proto(Version.TLS11, True, (0xC013,)),
                    proto(Version.TLS12),
                    proto(Version.TLS13),
                )
            },
            {"KW404", "KW405", "KW419"},
        ),
        ({"protocols": (*GOOD_PROTOCOLS[:5], proto(Version.TLS13))}, {"KW406"}),
        ({"fallback_scsv": False}, {"KW407"}),
        ({"secure_renegotiation": False}, {"KW424"}),
        ({"compression": True}, {"KW425"}),
        ({"groups_legacy": (Group.SECP160R1, Group.X25519)}, {"KW423"}),
        ({"groups": (Group.FFDHE2048, Group.X25519MLKEM768)}, set()),
    ],
)
def test_protocol_and_extension_rules(changes, expected) -> None:
    obs = observe(**changes)
    if expected == {"not tested"}:
        with pytest.raises(CheckNotRun) as stop:
            check(obs)
        assert stop.value.status is OutcomeStatus.ERROR
        return
    assert ids(obs) == expected


def tls12(*suites, **kw) -> tuple[ProtocolResult, ...]:
    return (*GOOD_PROTOCOLS[:4], proto(Version.TLS12, True, suites, **kw), GOOD_PROTOCOLS[5])


@pytest.mark.parametrize(
    ("suites", "expected"),
    [
        ((0xC02F, 0xC010), {"KW410"}),
        ((0xC02F, 0xC018), {"KW411"}),
        ((0xC02F, 0x0014), {"KW412"}),
        ((0xC02F, 0xC011), {"KW413"}),
        ((0xC02F, 0x0015), {"KW414"}),
        ((0xC02F, 0xC012), {"KW415"}),
        ((0xC02F, 0x009C), {"KW418"}),
        ((0xC013, 0xC014), set()),
        ((AcceptedSuite(code=0x009E, dh_bits=1024),), {"KW421"}),
        ((AcceptedSuite(code=0x009E, dh_bits=768),), {"KW422"}),
        (
            (AcceptedSuite(code=0x0003, rsa_export_bits=512), 0xC02F),
            {"KW412", "KW413", "KW418", "KW422"},
        ),
        ((AcceptedSuite(code=0xC02F, group=Group.SECT163K1),), {"KW423"}),
    ],
)
def test_cipher_and_key_exchange_rules(suites, expected) -> None:
    assert ids(observe(protocols=tls12(*suites))) == expected


def test_no_forward_secrecy_and_no_aead() -> None:
    protocols = (
        *GOOD_PROTOCOLS[:4],
        proto(Version.TLS12, True, (0x002F, 0x0035)),
        proto(Version.TLS13),
    )
    assert ids(observe(protocols=protocols)) == {"KW406", "KW417", "KW419"}


def test_server_preference_for_a_weaker_suite() -> None:
    assert ids(observe(protocols=tls12(0xC013, 0xC02F, server_preference=True))) == {"KW420"}
    assert ids(observe(protocols=tls12(0xC013, 0xC02F, server_preference=False))) == set()
    assert ids(observe(protocols=tls12(0xC02F, 0xC013, server_preference=True))) == set()


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        (chain(cert(not_after=NOW - DAY)), {"KW601"}),
        (chain(cert(not_before=NOW + DAY)), {"KW602"}),
        (
            chain(
                cert(),
                cert(subject="CN=CA", issuer="CN=Root", not_after=NOW - DAY, is_ca=True),
                path_length=2,
            ),
            {"KW601"},
        ),
        (chain(trusted=False, path="self_signed"), {"KW603"}),
        (chain(trusted=False, path="untrusted_root"), {"KW604"}),
        (chain(trusted=False, path="unknown_issuer"), {"KW604"}),
        (chain(trusted=False, path="incomplete"), {"KW606"}),
        (chain(trusted=False, hostname_matches=False), {"KW605"}),
        (
            chain(
                cert(signature_hash="md5", signature_algorithm="md5WithRSAEncryption"),
                trusted=False,
            ),
            {"KW607"},
        ),
        (chain(cert(signature_hash="sha1"), trusted=False), {"KW608"}),
        (chain(cert(key_type="RSA", key_bits=1024)), {"KW609"}),
        (chain(cert(key_type="RSA", key_bits=512)), {"KW610"}),
        (chain(cert(key_type="DSA", key_bits=1024)), {"KW609"}),
        (chain(cert(key_type="EC secp224r1", key_bits=224)), {"KW611"}),
        (chain(cert(not_before=NOW - 10 * DAY, not_after=NOW + 390 * DAY)), {"KW612"}),
        (
            chain(cert(subject="CN=root", issuer="CN=root", signature_hash="sha1", is_ca=True)),
            {"KW608"},
        ),
        (chain(parse_error="bad DER", certificates=()), {"KW604"}),
    ],
)
def test_certificate_rules(analysis: ChainAnalysis, expected: set[str]) -> None:
    assert ids(observe(chains=(analysis,))) == expected


def test_unexplained_verifier_failure_is_untrusted_with_medium_confidence() -> None:
    findings = check(observe(chains=(chain(trusted=False, verify_error="basicConstraints"),)))
    (finding,) = findings
    assert finding.rule_id == "KW604" and finding.confidence is Confidence.MEDIUM
    assert "basicConstraints" in finding.message


def test_served_root_self_signatures_do_not_count() -> None:
    root = cert(subject="CN=CA", issuer="CN=CA", signature_hash="sha1", is_ca=True)
    assert ids(observe(chains=(chain(cert(), root, path_length=2),))) == set()


def test_two_chains_are_two_findings() -> None:
    first = chain(cert(not_after=NOW - DAY))
    second = chain(cert(not_after=NOW - DAY, sha256="ef" * 32))
    findings = check(observe(chains=(first, second)))
    assert [f.rule_id for f in findings] == ["KW601", "KW601"]
    assert findings[0].fingerprint != findings[1].fingerprint


def test_partial_scan_reports_findings_and_is_not_tested() -> None:
    probes = (ProbeStatus(name="protocol TLSv1.0", completed=False, reason="no answer within 5s"),)
    obs = observe(probes=probes, compression=True)
    with pytest.raises(CheckNotRun) as stop:
        check(obs)
    assert stop.value.status is OutcomeStatus.ERROR
    assert "TLSv1.0: no answer" in stop.value.reason
    assert [f.rule_id for f in stop.value.findings] == ["KW425"]


def test_not_applicable_and_unreachable() -> None:
    with pytest.raises(CheckNotRun) as stop:
        check(TlsObservation(target="http://x/", skipped="no HTTPS side"))
    assert stop.value.status is OutcomeStatus.SKIPPED
    with pytest.raises(CheckNotRun) as stop:
        check(TlsObservation(target="https://x/", endpoint="x:443", failure="connection refused"))
    assert stop.value.status is OutcomeStatus.ERROR and "refused" in stop.value.reason
    assert details(TlsObservation(target="https://x/", failure="refused"))["error"] == "refused"
    counterpart = TlsObservation(
        target="http://x/", endpoint="x:443", failure="connection refused", counterpart=True
    )
    with pytest.raises(CheckNotRun) as stop:
        check(counterpart)
    assert stop.value.status is OutcomeStatus.SKIPPED


def test_not_tested_protocols_are_never_reported_as_missing() -> None:
    protocols = (*GOOD_PROTOCOLS[:5], proto(Version.TLS13, None, reason="timed out"))
    probes = (ProbeStatus(name="protocol TLSv1.3", completed=False, reason="timed out"),)
    with pytest.raises(CheckNotRun) as stop:
        check(observe(protocols=protocols, probes=probes))
    assert "KW406" not in {f.rule_id for f in stop.value.findings}
    assert details(observe(protocols=protocols))["protocols"]["TLSv1.3"]["status"] == "not tested"
