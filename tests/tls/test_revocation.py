"""Issue 13 item 5: revocation from stapled OCSP, OCSP responders and CRLs.

The judges are tested on responses built with ``cryptography``; the family against the
revocation lab (:mod:`labs.revocation`): OpenSSL's own OCSP responder
(``openssl ocsp -index``), a CRL on a static server and ``openssl s_server -status_file``, all on
loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from keywire import OutcomeStatus, ScanOptions, StaticResolver, scan
from keywire.checks._base import CheckNotRun
from keywire.checks.revocation import LeafRevocation, RevocationObservation, check
from keywire.cli import main
from keywire.probes.revocation import _address_refused
from keywire.tls import revocation as rv
from labs.revocation import (
    REVOCATION_PROFILES,
    LabUnavailable,
    RevocationProfile,
    build_revocation_lab,
    revocation_profile,
)
from labs.tlspki import ONE_DAY, Issued, make_ca, make_leaf, new_key, now, write_chain
from labs.tlsserver import SslLabServer, server_context

from .conftest import LAB_NAMES, require_tool

NOW = now()


# -- judging OCSP responses and CRLs (pure) --------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    ca = make_ca("judge CA")
    other = make_ca("other CA")
    return {
        "ca": ca,
        "other": other,
        "leaf": make_leaf(ca),
        "stranger": make_leaf(ca),
    }


def ocsp_response(
    pki,
    *,
    status=ocsp.OCSPCertStatus.GOOD,
    about=None,
    signer=None,
    signer_cert=None,
    this_update=None,
    next_update="default",
    nonce=None,
    certs=(),
) -> bytes:
    this_update = this_update or NOW - ONE_DAY / 24
    if next_update == "default":
        next_update = this_update + ONE_DAY
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=(about or pki["leaf"]).cert,
        issuer=pki["ca"].cert,
        algorithm=hashes.SHA1(),
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=NOW - ONE_DAY if status is ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=x509.ReasonFlags.key_compromise
        if status is ocsp.OCSPCertStatus.REVOKED
        else None,
    )
    signer = signer or pki["ca"]
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert or signer.cert)
    if certs:
        builder = builder.certificates(list(certs))
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def judge(pki, data: bytes, **kw) -> rv.Answer:
    return rv.judge_ocsp(data, leaf=pki["leaf"].cert, issuer=pki["ca"].cert, now=NOW, **kw)


def test_ocsp_good_revoked_and_unknown_are_believed(pki) -> None:
    assert judge(pki, ocsp_response(pki)).status is rv.Status.GOOD
    revoked = judge(pki, ocsp_response(pki, status=ocsp.OCSPCertStatus.REVOKED))
    assert revoked.status is rv.Status.REVOKED
    assert revoked.revocation_reason == "keyCompromise"
    assert revoked.revoked_at is not None and revoked.decisive
    unknown = judge(pki, ocsp_response(pki, status=ocsp.OCSPCertStatus.UNKNOWN))
    assert unknown.status is rv.Status.UNKNOWN and not unknown.decisive


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"next_update": NOW - ONE_DAY}, "stale"),
        ({"this_update": NOW + ONE_DAY}, "future"),
        ({"this_update": NOW - 3 * ONE_DAY, "next_update": None}, "stale"),
        ({"about": "stranger"}, "another certificate"),
        ({"signer": "other"}, "signed neither"),
    ],
)
def test_ocsp_answers_that_cannot_be_believed(pki, changes, reason) -> None:
    if changes.get("about") == "stranger":
        changes = {**changes, "about": pki["stranger"]}
    if changes.get("signer") == "other":
        changes = {**changes, "signer": pki["other"]}
    answer = judge(pki, ocsp_response(pki, status=ocsp.OCSPCertStatus.REVOKED, **changes))
    assert answer.status is rv.Status.INVALID
    assert reason in answer.reason


def test_ocsp_without_next_update_is_current_for_a_day(pki) -> None:
    fresh = ocsp_response(pki, this_update=NOW - ONE_DAY / 2, next_update=None)
    assert judge(pki, fresh).status is rv.Status.GOOD


def test_a_forged_signature_is_not_believed(pki) -> None:
    data = bytearray(ocsp_response(pki, status=ocsp.OCSPCertStatus.GOOD))
    data[-5] ^= 0x01  # inside the signature
    assert judge(pki, bytes(data)).status is rv.Status.INVALID


def test_delegated_responder_needs_the_ocsp_signing_usage(pki) -> None:
    def responder(usages):
        return make_leaf(pki["ca"], names=("ocsp.test",), ips=(), eku=usages)

    good = responder((ExtendedKeyUsageOID.OCSP_SIGNING,))
    data = ocsp_response(pki, signer=good, certs=[good.cert])
    assert judge(pki, data).status is rv.Status.GOOD
    plain = responder((ExtendedKeyUsageOID.SERVER_AUTH,))
    answer = judge(pki, ocsp_response(pki, signer=plain, certs=[plain.cert]))
    assert answer.status is rv.Status.INVALID
    assert "OCSP signing usage" in answer.reason
    rogue = make_leaf(
        pki["other"], names=("ocsp.test",), ips=(), eku=[ExtendedKeyUsageOID.OCSP_SIGNING]
    )
    answer = judge(pki, ocsp_response(pki, signer=rogue, certs=[rogue.cert]))
    assert answer.status is rv.Status.INVALID
    assert "not signed by the certificate's issuer" in answer.reason


def test_nonce_must_match_when_echoed(pki) -> None:
    data = ocsp_response(pki, nonce=b"n" * 16)
    assert judge(pki, data, nonce=b"n" * 16).status is rv.Status.GOOD
    replayed = judge(pki, data, nonce=b"m" * 16)
    assert replayed.status is rv.Status.INVALID and "nonce" in replayed.reason
    assert judge(pki, ocsp_response(pki), nonce=b"m" * 16).status is rv.Status.GOOD


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x30\x03\x0a\x01\x03",  # a well-formed tryLater answer
        b"<html>not ocsp</html>",
        b"\x30\x82\xff\xff" + b"\x00" * 100,
    ],
)
def test_garbage_and_error_answers_are_invalid(pki, data) -> None:
    answer = judge(pki, data)
    assert answer.status is rv.Status.INVALID
    assert answer.reason


def crl(pki, *, revoked=(), signer=None, issuer=None, last=None, next_=None) -> bytes:
    last = last or NOW - ONE_DAY / 24
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name((issuer or pki["ca"]).cert.subject)
        .last_update(last)
        .next_update(next_ or last + 7 * ONE_DAY)
    )
    for item in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(item.cert.serial_number)
            .revocation_date(NOW - ONE_DAY)
            .add_extension(x509.CRLReason(x509.ReasonFlags.superseded), critical=False)
            .build()
        )
    key = (signer or pki["ca"]).key
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def judge_crl(pki, data: bytes) -> rv.Answer:
    return rv.judge_crl(data, leaf=pki["leaf"].cert, issuer=pki["ca"].cert, now=NOW)


def test_crl_revoked_and_good(pki) -> None:
    revoked = judge_crl(pki, crl(pki, revoked=[pki["leaf"]]))
    assert revoked.status is rv.Status.REVOKED and revoked.revocation_reason == "superseded"
    assert judge_crl(pki, crl(pki, revoked=[pki["stranger"]])).status is rv.Status.GOOD


def test_crl_in_pem_is_read_too(pki) -> None:
    der = crl(pki, revoked=[pki["leaf"]])
    pem = x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
    assert judge_crl(pki, pem).status is rv.Status.REVOKED


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("other-issuer", "another CA"),
        ("bad-signature", "signature"),
        ("stale", "stale"),
        ("garbage", "not a readable CRL"),
    ],
)
def test_crls_that_cannot_be_believed(pki, kind, reason) -> None:
    data = {
        "other-issuer": lambda: crl(pki, issuer=pki["other"], signer=pki["other"]),
        "bad-signature": lambda: crl(pki, revoked=[pki["leaf"]], signer=pki["other"]),
        "stale": lambda: crl(pki, last=NOW - 10 * ONE_DAY, next_=NOW - 3 * ONE_DAY),
        "garbage": lambda: b"\x30\x80garbage",
    }[kind]()
    answer = judge_crl(pki, data)
    assert answer.status is rv.Status.INVALID
    assert reason in answer.reason


def test_sources_reads_aia_cdp_and_must_staple_and_skips_other_schemes(pki) -> None:
    leaf = make_leaf(
        pki["ca"],
        ocsp_url="http://ocsp.ca.test/",
        crl_url="ldap://ldap.ca.test/cn=crl",
        must_staple=True,
    )
    found = rv.sources(leaf.cert)
    assert found.ocsp_urls == ("http://ocsp.ca.test/",)
    assert found.crl_urls == ()
    assert found.unsupported == ("ldap://ldap.ca.test/cn=crl",)
    assert found.must_staple
    assert rv.sources(pki["leaf"].cert) == rv.Sources()


def test_ocsp_request_names_the_certificate(pki) -> None:
    request = ocsp.load_der_ocsp_request(
        rv.ocsp_request(pki["leaf"].cert, pki["ca"].cert, b"x" * 16)
    )
    assert request.serial_number == pki["leaf"].cert.serial_number
    assert request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"x" * 16


@pytest.mark.parametrize(
    ("addresses", "target", "refused"),
    [
        (["127.0.0.1"], "127.0.0.1", False),
        (["::1"], "127.0.0.1", False),
        (["127.0.0.1"], "93.184.216.34", True),
        (["10.0.0.5"], "93.184.216.34", True),
        (["10.0.0.5"], "10.1.1.1", False),
        (["10.0.0.5"], "127.0.0.1", False),
        (["169.254.169.254"], "10.1.1.1", True),
        (["169.254.169.254"], "127.0.0.1", True),
        (["93.184.216.35"], "93.184.216.34", False),
        (["93.184.216.35", "127.0.0.1"], "93.184.216.34", True),
    ],
)
def test_a_certificate_cannot_steer_fetches_into_the_scanners_network(
    addresses, target, refused
) -> None:
    assert bool(_address_refused(addresses, target)) is refused


# -- the check (pure) -------------------------------------------------------------------------


def leaf(*answers: rv.Answer, **kw) -> LeafRevocation:
    return LeafRevocation(subject="CN=api", serial="1", sha256="ab" * 32, answers=answers, **kw)


def observation(*leaves: LeafRevocation, **kw) -> RevocationObservation:
    base = {"target": "https://api.test/", "endpoint": "api.test:443", "stapling_known": True}
    return RevocationObservation(leaves=leaves, **{**base, **kw})


def answer(status: rv.Status, source: str = rv.RESPONDER, **kw) -> rv.Answer:
    return rv.Answer(source=source, url="http://ocsp.test/", status=status, **kw)


def ids(obs) -> set[str]:
    return {f.rule_id for f in check(obs)}


def test_unreachable_responders_are_not_tested_never_a_pass() -> None:
    obs = observation(
        leaf(answer(rv.Status.UNAVAILABLE, reason="connection refused"), ocsp_urls=("http://x/",))
    )
    with pytest.raises(CheckNotRun) as stop:
        check(obs)
    assert stop.value.status is OutcomeStatus.ERROR
    assert "connection refused" in stop.value.reason


def test_an_invalid_staple_is_reported_even_when_the_responder_is_down() -> None:
    obs = observation(
        leaf(
            answer(rv.Status.INVALID, rv.STAPLED, reason="it is stale"),
            answer(rv.Status.UNAVAILABLE, reason="timeout"),
        )
    )
    with pytest.raises(CheckNotRun) as stop:
        check(obs)
    assert [f.rule_id for f in stop.value.findings] == ["KW617"]


def test_revoked_wins_and_names_its_source() -> None:
    obs = observation(
        leaf(
            answer(rv.Status.UNAVAILABLE, reason="timeout"),
            answer(rv.Status.REVOKED, rv.CRL, revocation_reason="keyCompromise"),
        )
    )
    (finding,) = check(obs)
    assert finding.rule_id == "KW616" and finding.severity.value == "high"
    assert "CRL" in finding.message and "keyCompromise" in finding.message


def test_offline_without_a_staple_is_not_applicable_not_incomplete() -> None:
    obs = observation(leaf(ocsp_urls=("http://ocsp.test/",)), offline=True)
    with pytest.raises(CheckNotRun) as stop:
        check(obs)
    assert stop.value.status is OutcomeStatus.SKIPPED
    assert "--offline" in stop.value.reason


def test_no_source_at_all_is_not_applicable() -> None:
    with pytest.raises(CheckNotRun) as stop:
        check(observation(leaf()))
    assert stop.value.status is OutcomeStatus.SKIPPED


def test_must_staple_needs_a_completed_stapling_probe() -> None:
    unstapled = leaf(answer(rv.Status.GOOD), must_staple=True)
    assert ids(observation(unstapled)) == {"KW619"}
    assert ids(observation(unstapled, stapling_known=False)) == set()


# -- the lab: real responder, CRL server, stapling servers -----------------------------------


@pytest.fixture(scope="module")
def revocation_lab(tmp_path_factory):
    try:
        lab = build_revocation_lab(tmp_path_factory.mktemp("revocation"))
    except LabUnavailable as exc:
        if os.environ.get("KEYWIRE_REQUIRE_TOOLS") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield lab
    lab.close()


def scan_lab(lab, item: RevocationProfile, **options):
    server = lab.serve(item)
    report = scan(
        f"https://localhost:{server.port}/",
        options=ScanOptions(only=("tls",), ca_file=str(lab.ca_file), timeout=5, **options),
        resolver=StaticResolver(LAB_NAMES),
    )
    return report.targets[0]


@pytest.mark.parametrize("item", REVOCATION_PROFILES, ids=lambda p: p.name)
def test_revocation_profile_yields_exactly_its_findings(revocation_lab, item) -> None:
    result = scan_lab(revocation_lab, item)
    outcomes = {o.check: o for o in result.outcomes}
    assert outcomes["tls"].status is OutcomeStatus.COMPLETED, outcomes["tls"].reason
    assert {f.rule_id for f in result.findings} == set(item.expect), [
        f.message for f in result.findings
    ]
    revocation = outcomes["revocation"]
    if item.expect_untested:
        assert revocation.status is OutcomeStatus.ERROR
        assert "connection refused" in revocation.reason
    else:
        assert revocation.status is OutcomeStatus.COMPLETED, revocation.reason


@pytest.mark.parametrize("item", [p for p in REVOCATION_PROFILES if p.expect], ids=lambda p: p.name)
def test_every_revocation_flaw_has_a_near_miss(item) -> None:
    near = revocation_profile(item.near_miss)
    assert not near.expect and not near.expect_untested


def test_both_sources_say_revoked_and_the_first_answer_decides(revocation_lab) -> None:
    result = scan_lab(revocation_lab, revocation_profile("both-revoked"))
    (certificate,) = result.details["revocation"]["certificates"]
    assert [a["source"] for a in certificate["answers"]] == ["OCSP responder"]
    assert certificate["answers"][0]["status"] == "revoked"


def test_offline_asks_no_responder_and_no_crl(revocation_lab) -> None:
    before = len(revocation_lab.crl_requests)
    result = scan_lab(revocation_lab, revocation_profile("crl-revoked"), offline=True)
    assert len(revocation_lab.crl_requests) == before
    assert "KW616" not in {f.rule_id for f in result.findings}
    outcome = next(o for o in result.outcomes if o.check == "revocation")
    assert outcome.status is OutcomeStatus.SKIPPED and "--offline" in outcome.reason
    # A stapled answer needs no fetch: it is still read offline.
    stapled = scan_lab(revocation_lab, revocation_profile("stapled-revoked"), offline=True)
    assert {f.rule_id for f in stapled.findings} == {"KW616"}


def test_revocation_requests_never_carry_the_users_credentials(revocation_lab) -> None:
    before = len(revocation_lab.crl_requests)
    item = revocation_profile("crl-good")
    server = revocation_lab.serve(item)
    scan(
        f"https://localhost:{server.port}/",
        options=ScanOptions(
            ca_file=str(revocation_lab.ca_file),
            timeout=5,
            headers={"Authorization": "Bearer user-secret-credential-0001"},
        ),
        resolver=StaticResolver(LAB_NAMES),
    )
    requests = revocation_lab.crl_requests[before:]
    assert requests, "the CRL was not fetched"
    for headers in requests:
        assert "authorization" not in headers and "cookie" not in headers
        assert "user-secret-credential-0001" not in json.dumps(headers)


def test_offline_from_the_command_line_and_the_configuration(
    revocation_lab, runner, tmp_path, monkeypatch
) -> None:
    server = revocation_lab.serve(revocation_profile("crl-revoked"))
    url = f"https://127.0.0.1:{server.port}/"
    common = ["scan", url, "--only", "tls", "--ca-file", str(revocation_lab.ca_file), "-o", "-"]
    offline = runner.invoke(main, [*common[:1], "--offline", *common[1:], "--format", "json"])
    document = json.loads(offline.stdout)
    assert document["options"]["offline"] is True
    assert "KW616" not in {f["rule_id"] for f in document["targets"][0]["findings"]}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keywire.toml").write_text("offline = true\n", encoding="utf-8")
    configured = runner.invoke(main, [*common, "--format", "json"])
    assert json.loads(configured.stdout)["options"]["offline"] is True
    online = runner.invoke(main, [*common, "--format", "json", "--no-config"])
    online_doc = json.loads(online.stdout)
    assert online_doc["options"]["offline"] is False
    assert "KW616" in {f["rule_id"] for f in online_doc["targets"][0]["findings"]}
    assert online.exit_code == 1  # a revoked certificate fails the default gate


# -- cross-check: sslyze reads the same stapled responses --------------------------------------


@pytest.mark.tools
def test_stapled_status_matches_sslyze(revocation_lab, tmp_path) -> None:
    binary = require_tool("sslyze", os.environ.get("KEYWIRE_SSLYZE"))
    names = ("stapled-revoked", "stapled-good", "must-staple-unstapled")
    ports = {name: revocation_lab.serve(revocation_profile(name)).port for name in names}
    out = tmp_path / "sslyze.json"
    subprocess.run(
        [
            binary,
            "--certinfo",
            f"--certinfo_ca_file={revocation_lab.ca_file}",
            f"--json_out={out}",
            "--quiet",
            *(f"localhost:{port}{{127.0.0.1}}" for port in ports.values()),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    by_port = {
        s["server_location"]["port"]: s["scan_result"]["certificate_info"]
        for s in json.loads(out.read_text())["server_scan_results"]
    }
    verdicts = {}
    for name, port in ports.items():
        info = by_port[port]
        assert info["status"] == "COMPLETED", info.get("error_trace")
        deployment = info["result"]["certificate_deployments"][0]
        response = deployment["ocsp_response"]
        verdicts[name] = (
            response["certificate_status"] if response else None,
            deployment["leaf_certificate_has_must_staple_extension"],
        )
    assert verdicts == {
        "stapled-revoked": ("REVOKED", False),
        "stapled-good": ("GOOD", False),
        "must-staple-unstapled": (None, True),
    }
    for name in names:
        result = scan_lab(revocation_lab, revocation_profile(name))
        keywire = {f.rule_id for f in result.findings}
        assert ("KW616" in keywire) is (verdicts[name][0] == "REVOKED")
        assert ("KW619" in keywire) is (verdicts[name] == (None, True))


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept a request and never answer."""
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        conn.recv(65536)
    stop.wait(30)


def test_all_lookups_of_a_certificate_share_one_deadline(revocation_lab, tmp_path) -> None:
    """Three silent responders and three silent CRL servers: not tested within the budget."""
    from labs.raw import RawServer

    with RawServer(_silent) as silent:
        base = f"http://127.0.0.1:{silent.port}"
        ca = revocation_lab.ca
        key = new_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - ONE_DAY)
            .not_valid_after(NOW + 60 * ONE_DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(f"{base}/ocsp{i}"),
                        )
                        for i in range(3)
                    ]
                ),
                False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(f"{base}/{i}.crl")], None, None, None
                        )
                        for i in range(3)
                    ]
                ),
                False,
            )
            .sign(ca.key, hashes.SHA256())
        )
        cert_file, key_file = write_chain(tmp_path, "slow", Issued(cert, key), ca)
        with SslLabServer(server_context(cert_file, key_file), host="127.0.0.1") as server:
            started = time.monotonic()
            report = scan(
                f"https://localhost:{server.port}/",
                options=ScanOptions(only=("tls",), ca_file=str(revocation_lab.ca_file), timeout=1),
                resolver=StaticResolver(LAB_NAMES),
            )
            elapsed = time.monotonic() - started
    outcome = next(o for o in report.targets[0].outcomes if o.check == "revocation")
    assert outcome.status is OutcomeStatus.ERROR
    assert "took longer than 4s" in outcome.reason
    assert elapsed < 12, elapsed  # six lookups of 2 s each would take longer
