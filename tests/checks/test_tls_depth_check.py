"""The verdicts past the first flight are pure functions of hand-built facts."""

from __future__ import annotations

import json

import pytest

from keywire.checks._base import CheckNotRun
from keywire.checks.tls import check, details
from keywire.tls._constants import Version
from keywire.tls.results import (
    AcceptedSuite,
    DhGroup,
    EarlyDataResult,
    EphemeralKeys,
    ProbeStatus,
    RenegotiationResult,
    ResumptionResult,
    VulnerabilityResult,
)
from labs._dhgroups import SAFE_2048, SMALL_SUBGROUP_2048, safe_prime

from .test_tls_check import GOOD_PROTOCOLS, observe, proto


def ids(**facts) -> set[str]:
    return {f.rule_id for f in check(observe(**facts))}


def _group(prime: int, generator: int = 2) -> DhGroup:
    size = (prime.bit_length() + 7) // 8
    return DhGroup(
        prime=prime.to_bytes(size, "big"),
        generator=generator.to_bytes(max(1, (generator.bit_length() + 7) // 8), "big"),
        seen_with="TLSv1.2 TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (RenegotiationResult(version=Version.TLS12, attempts=5, honoured=5), {"KW426"}),
        # A rate limit (Node.js allows 3 in 10 minutes) is not a finding.
        (RenegotiationResult(version=Version.TLS12, attempts=5, honoured=3), set()),
        (RenegotiationResult(version=Version.TLS12, attempts=5, refusal="alert"), set()),
        (RenegotiationResult(reason="not applicable: TLS 1.3 only"), set()),
    ],
)
def test_client_renegotiation(result, expected) -> None:
    assert ids(renegotiation=result) == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (VulnerabilityResult(name="Heartbleed", vulnerable=True, detail="echoed"), {"KW427"}),
        (VulnerabilityResult(name="Heartbleed", vulnerable=False), set()),
        (VulnerabilityResult(name="CCS injection", vulnerable=True, detail="x"), {"KW428"}),
        (VulnerabilityResult(name="ROBOT", vulnerable=True, oracle="strong"), {"KW429"}),
        (VulnerabilityResult(name="ROBOT", vulnerable=True, oracle="weak"), {"KW430"}),
        (VulnerabilityResult(name="ROBOT", vulnerable=False), set()),
    ],
)
def test_vulnerabilities(result, expected) -> None:
    assert ids(vulnerabilities=(result,)) == expected


def test_an_undecided_vulnerability_is_not_tested_never_passed() -> None:
    obs = observe(
        vulnerabilities=(VulnerabilityResult(name="ROBOT", vulnerable=None, detail="changed"),),
        probes=(ProbeStatus(name="ROBOT", completed=False, reason="changed"),),
    )
    with pytest.raises(CheckNotRun) as stop:
        check(obs)
    assert "ROBOT: changed" in stop.value.reason


def test_a_probe_the_user_turned_off_is_skipped_not_a_failure() -> None:
    obs = observe(
        probes=(ProbeStatus(name="Heartbleed", completed=False, skipped=True, reason="not run"),)
    )
    assert check(obs) == []
    assert details(obs)["probes"]["Heartbleed"] == {
        "completed": False,
        "skipped": True,
        "reason": "not run",
    }


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (EarlyDataResult(accepted=True, max_size=16384, replay_accepted=False), {"KW431"}),
        (EarlyDataResult(accepted=True, max_size=16384, replay_accepted=True), {"KW432"}),
        (EarlyDataResult(accepted=False, reason="no ticket allows early data"), set()),
    ],
)
def test_early_data(result, expected) -> None:
    assert ids(early_data=result) == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (ResumptionResult(ticket=True, ticket_lifetime=86400), set()),
        (ResumptionResult(ticket=True, ticket_lifetime=86401), {"KW433"}),
        (ResumptionResult(tls13=True, tls13_lifetime=7200), set()),
        (ResumptionResult(tls13=True, tls13_lifetime=8 * 86400), {"KW433"}),
        # 0 is "unspecified" (RFC 5077): not a claim of a long life.
        (ResumptionResult(ticket=True, ticket_lifetime=0), set()),
        # A ticket the server refused to resume keeps no session alive, whatever its hint.
        (ResumptionResult(ticket=False, ticket_lifetime=3 * 86400), set()),
        (ResumptionResult(tls13=False, tls13_lifetime=8 * 86400), set()),
        # Not tested: the hint is all there is, and it is reported.
        (ResumptionResult(ticket_lifetime=3 * 86400), {"KW433"}),
        (ResumptionResult(session_id=True), set()),
    ],
)
def test_ticket_lifetime(result, expected) -> None:
    assert ids(resumption=result) == expected


def test_a_tls13_lifetime_beyond_seven_days_says_so() -> None:
    (finding,) = check(observe(resumption=ResumptionResult(tls13_lifetime=10 * 86400)))
    assert "beyond the 7 days RFC 8446 allows" in finding.message


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        (_group(safe_prime(2048)), set()),
        (_group(*SAFE_2048), set()),
        (_group(safe_prime(2048) - 2), {"KW434"}),
        (_group(*SMALL_SUBGROUP_2048), {"KW435"}),
        (_group(safe_prime(2048), safe_prime(2048) - 1), {"KW435"}),
        (_group(safe_prime(1024)), {"KW421"}),
    ],
    ids=["ffdhe2048", "safe", "composite", "small-subgroup", "order-2", "1024-bit"],
)
def test_dh_groups(group: DhGroup, expected: set[str]) -> None:
    protocols = None
    if group.bits < 2048:
        protocols = (
            *GOOD_PROTOCOLS[:4],
            proto(Version.TLS12, True, (AcceptedSuite(code=0x009E, dh_bits=group.bits),)),
            GOOD_PROTOCOLS[5],
        )
    facts = {"dh_groups": (group,)}
    if protocols:
        facts["protocols"] = protocols
    assert ids(**facts) == expected


def test_dh_details_describe_every_group() -> None:
    obs = observe(dh_groups=(_group(*SMALL_SUBGROUP_2048), _group(safe_prime(2048))))
    groups = details(obs)["dh_groups"]
    assert [g["small_subgroup"] for g in groups] == [True, False]
    assert groups[1]["known_group"] == "ffdhe2048"
    assert groups[0]["generator_order_bits"] == 31
    json.dumps(details(obs))


def test_an_undecided_dh_group_is_not_tested(monkeypatch) -> None:
    from keywire.checks import _dh

    _dh.assess.cache_clear()
    monkeypatch.setattr(_dh, "BUDGET_SECONDS", 0.0)
    try:
        with pytest.raises(CheckNotRun) as stop:
            check(observe(dh_groups=(_group(*SAFE_2048),)))
        assert "did not finish" in stop.value.reason
    finally:
        _dh.assess.cache_clear()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (EphemeralKeys(kind="ECDHE", samples=12, distinct=12), set()),
        (EphemeralKeys(kind="ECDHE", samples=12, distinct=1), {"KW437"}),
        (EphemeralKeys(kind="DHE", samples=3, distinct=2), {"KW437"}),
        (EphemeralKeys(kind="DHE", samples=1, distinct=1), set()),
    ],
)
def test_ephemeral_key_reuse(keys: EphemeralKeys, expected: set[str]) -> None:
    assert ids(ephemeral_keys=(keys,)) == expected
    assert EphemeralKeys(kind="DHE", samples=1, distinct=1).reused is None
