"""Verdicts on what the TLS engine learnt past the first flight: renegotiation, resumption and
0-RTT, Heartbleed, CCS injection, ROBOT, and the real strength of DH groups.

Pure functions of :class:`~keywire.tls.results.TlsScanResult` (no network code): each returns
``(rule, message, location, evidence)`` tuples for :mod:`keywire.checks.tls` to turn into
findings, and :func:`undecided` lists what could not be established (the check is then *not
tested* for it, never passed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .._models import Rule
from ..tls._constants import Version
from ..tls.results import TlsScanResult
from . import _tls_rules as R

if TYPE_CHECKING:
    from ._dh import DhAssessment

Item = tuple[Rule, str, str, Mapping[str, str]]

#: Tickets that may live longer than this are reported (KW433).
TICKET_LIFETIME_LIMIT = 24 * 3600
#: RFC 8446 §4.6.1: a TLS 1.3 ticket lifetime may not exceed 7 days.
TLS13_MAX_LIFETIME = 7 * 24 * 3600


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds} s"


def dh_assessments(scan: TlsScanResult) -> list[tuple[DhAssessment, str, str]]:
    """(assessment, where it was seen, short digest of the prime) for every DH group served."""
    if not scan.dh_groups:
        return []
    from ._dh import assess  # number theory only when there is a group to look at

    out = []
    for group in scan.dh_groups:
        prime = int.from_bytes(group.prime, "big")
        generator = int.from_bytes(group.generator, "big")
        digest = hashlib.sha256(group.prime).hexdigest()[:16]
        out.append((assess(prime, generator), group.seen_with, digest))
    return out


def findings(scan: TlsScanResult) -> Iterator[Item]:
    yield from _renegotiation(scan)
    yield from _vulnerabilities(scan)
    yield from _early_data(scan)
    yield from _tickets(scan)
    yield from _dh(scan)
    yield from _reuse(scan)


def undecided(scan: TlsScanResult) -> list[str]:
    """Why part of the depth verdicts could not be reached (beyond the probes' own statuses)."""
    return [
        f"DH group {digest}: {verdict.note}"
        for verdict, _, digest in dh_assessments(scan)
        if verdict.prime is None
    ]


def _renegotiation(scan: TlsScanResult) -> Iterator[Item]:
    result = scan.renegotiation
    if result is None or not result.accepted:
        return
    version = Version(result.version).label if result.version else "TLS"
    yield (
        R.CLIENT_RENEGOTIATION,
        f"the server honoured {result.honoured} client-initiated renegotiations in a row "
        f"({version}).",
        "renegotiation",
        {"protocol": version, "renegotiations": str(result.honoured)},
    )


def _vulnerabilities(scan: TlsScanResult) -> Iterator[Item]:
    for result in scan.vulnerabilities:
        if not result.vulnerable:
            continue
        if result.name == "Heartbleed":
            yield (
                R.HEARTBLEED,
                f"Heartbleed: {result.detail}.",
                "heartbleed",
                {"observed": result.detail},
            )
        elif result.name == "CCS injection":
            yield (
                R.CCS_INJECTION,
                f"CCS injection (CVE-2014-0224): {result.detail}.",
                "ccs-injection",
                {"observed": result.detail},
            )
        elif result.name == "ROBOT":
            rule = R.ROBOT_STRONG if result.oracle == "strong" else R.ROBOT_WEAK
            yield (
                rule,
                f"ROBOT: {result.detail} ({result.oracle} oracle).",
                "robot",
                {"oracle": result.oracle, "answers": "; ".join(result.responses)},
            )


def _early_data(scan: TlsScanResult) -> Iterator[Item]:
    early = scan.early_data
    if early is None or not early.accepted:
        return
    size = f"up to {early.max_size} bytes" if early.max_size is not None else "an unstated size"
    evidence = {"max_early_data_size": str(early.max_size)}
    if early.replay_accepted:
        yield (
            R.EARLY_DATA_REPLAY,
            f"the server accepted 0-RTT early data ({size}) twice with the same ticket.",
            "early-data",
            {**evidence, "replay": "accepted"},
        )
    else:
        replay = "refused" if early.replay_accepted is False else "not tested"
        yield (
            R.EARLY_DATA,
            f"the server accepts 0-RTT early data ({size}); a replayed ticket was {replay}.",
            "early-data",
            {**evidence, "replay": replay},
        )


def _tickets(scan: TlsScanResult) -> Iterator[Item]:
    resumption = scan.resumption
    if resumption is None:
        return
    long: list[str] = []
    # A ticket the server was seen to refuse suspends nothing, whatever its hint says.
    life12 = resumption.ticket_lifetime if resumption.ticket is not False else None
    life13 = resumption.tls13_lifetime if resumption.tls13 is not False else None
    if life12 and life12 > TICKET_LIFETIME_LIMIT:
        long.append(f"TLS 1.2 tickets: {_duration(life12)}")
    if life13 and life13 > TICKET_LIFETIME_LIMIT:
        beyond = " (beyond the 7 days RFC 8446 allows)"
        note = beyond if life13 > TLS13_MAX_LIFETIME else ""
        long.append(f"TLS 1.3 tickets: {_duration(life13)}{note}")
    if long:
        yield (
            R.LONG_TICKETS,
            f"session tickets may be used for a long time: {'; '.join(long)}.",
            "session-tickets",
            {"lifetimes": "; ".join(long)},
        )


def _dh(scan: TlsScanResult) -> Iterator[Item]:
    for verdict, seen_with, digest in dh_assessments(scan):
        evidence = {
            "bits": str(verdict.bits),
            "prime_sha256": digest,
            "seen_with": seen_with,
            **({"group": verdict.known} if verdict.known else {}),
            **({"analysis": verdict.note} if verdict.note else {}),
        }
        where = f"dh-group:{digest}"
        if verdict.prime is False:
            yield (
                R.DH_COMPOSITE,
                f"the {verdict.bits}-bit DH modulus is not a prime.",
                where,
                evidence,
            )
        elif verdict.small_subgroup:
            yield (
                R.DH_SMALL_SUBGROUP,
                f"the {verdict.bits}-bit DH group's generator lies in a small subgroup: "
                f"{verdict.note}.",
                where,
                evidence,
            )
        elif verdict.prime and verdict.safe is False:
            yield (
                R.DH_NOT_SAFE,
                f"the {verdict.bits}-bit DH prime is not a safe prime: {verdict.note or 'its subgroups are unknown'}.",
                where,
                evidence,
            )


def _reuse(scan: TlsScanResult) -> Iterator[Item]:
    for keys in scan.ephemeral_keys:
        if keys.reused:
            yield (
                R.EPHEMERAL_REUSE,
                f"the server sent the same {keys.kind} public value more than once "
                f"({keys.distinct} distinct value(s) on {keys.samples} connections).",
                f"ephemeral-{keys.kind.lower()}",
                {"connections": str(keys.samples), "distinct": str(keys.distinct)},
            )


def details(scan: TlsScanResult) -> dict[str, object]:
    """The depth facts for the JSON report."""
    renegotiation = scan.renegotiation
    resumption = scan.resumption
    early = scan.early_data
    return {
        "dh_groups": [
            {
                "bits": verdict.bits,
                "prime_sha256": digest,
                "seen_with": seen_with,
                "known_group": verdict.known or None,
                "prime": verdict.prime,
                "safe_prime": verdict.safe,
                "generator_order_bits": verdict.order_bits,
                "largest_order_factor_bits": verdict.largest_factor_bits,
                "small_subgroup": verdict.small_subgroup,
                **({"note": verdict.note} if verdict.note else {}),
            }
            for verdict, seen_with, digest in dh_assessments(scan)
        ],
        "ephemeral_keys": {
            keys.kind: {
                "connections": keys.samples,
                "distinct": keys.distinct,
                "reused": keys.reused,
            }
            for keys in scan.ephemeral_keys
        },
        "renegotiation": None
        if renegotiation is None
        else {
            "client_initiated_honoured": renegotiation.accepted,
            "honoured": renegotiation.honoured,
            "attempts": renegotiation.attempts,
            **({"refusal": renegotiation.refusal} if renegotiation.refusal else {}),
            **({"reason": renegotiation.reason} if renegotiation.reason else {}),
        },
        "resumption": None
        if resumption is None
        else {
            "session_id": resumption.session_id,
            "ticket": resumption.ticket,
            "ticket_lifetime_hint_s": resumption.ticket_lifetime,
            "tls13_ticket": resumption.tls13,
            "tls13_ticket_lifetime_s": resumption.tls13_lifetime,
            "tls13_tickets_issued": resumption.tls13_tickets,
            **({"note": resumption.note} if resumption.note else {}),
        },
        "early_data": None
        if early is None
        else {
            "accepted": early.accepted,
            "max_early_data_size": early.max_size,
            "replay_accepted": early.replay_accepted,
            **({"reason": early.reason} if early.reason else {}),
        },
        "vulnerabilities": {
            result.name: {
                "vulnerable": result.vulnerable,
                "detail": result.detail,
                **({"oracle": result.oracle or "none"} if result.name == "ROBOT" else {}),
                **({"answers": list(result.responses)} if result.responses else {}),
            }
            for result in scan.vulnerabilities
        },
    }
