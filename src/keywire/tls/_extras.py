"""Groups and extras of one endpoint, asked through its :class:`~._enumerate.Enumeration`.

The TLS 1.3 groups (through HelloRetryRequests, so post-quantum hybrids show without being
computed), the curves used for ECDHE in TLS 1.2 and older, one more DHE hello when key reuse
needs a second sample, and TLS_FALLBACK_SCSV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from . import suites as suite_table
from ._constants import Version, group_label
from ._enumerate import MAX_BUNDLE, Enumeration
from .connection import Status
from .hello import LEGACY_GROUPS, TLS13_GROUPS
from .results import ProbeStatus, ProtocolResult


async def groups_tls13(scan: Enumeration) -> tuple[tuple[int, ...], str, bool]:
    """(groups accepted for TLS 1.3 in keywire's order, failure, refused-first).

    Each hello carries no key share, so the server names its choice in a
    HelloRetryRequest: this finds hybrid post-quantum groups without computing them. Two
    chains run side by side (classical curves; post-quantum and finite-field groups).
    """
    classical = [g for g in TLS13_GROUPS if g < 256]
    rest = [g for g in TLS13_GROUPS if g >= 256]
    runs = await asyncio.gather(_group_chain(scan, classical), _group_chain(scan, rest))
    chosen = {g for found, _, _ in runs for g in found}
    failure = next((f for _, f, _ in runs if f), "")
    refused = all(r for _, _, r in runs)
    return tuple(g for g in TLS13_GROUPS if g in chosen), failure, refused


async def _group_chain(scan: Enumeration, offer: list[int]) -> tuple[tuple[int, ...], str, bool]:
    suites = [s.code for s in suite_table.for_version(Version.TLS13)]
    remaining = list(offer)
    chosen: list[int] = []
    for _ in range(len(offer)):
        answer = await scan.ask(Version.TLS13, suites, groups=remaining, key_shares=False)
        if answer.status is Status.FAILED:
            return tuple(chosen), answer.reason, False
        hello = answer.server_hello
        if answer.status is Status.REJECTED or hello is None:
            return tuple(chosen), "", not chosen
        if hello.version != Version.TLS13:
            return tuple(chosen), "", not chosen
        group = hello.key_share_group
        if group not in remaining:
            return tuple(chosen), "the server chose a group that was not offered", False
        chosen.append(group)
        remaining.remove(group)
        if not remaining:
            break
    return tuple(chosen), "", False


async def groups_legacy(
    scan: Enumeration, protocol: ProtocolResult
) -> tuple[tuple[int, ...], str, str]:
    """Curves the server uses for ECDHE in TLS <= 1.2, from its ServerKeyExchange.

    Returns (curves in the order chosen, failure, note). In TLS <= 1.2 the client's curve list
    also says which ECDSA certificates it can verify, so an ECDSA-only server needs its
    certificate's curve offered every time; curves it ranks below that one stay unseen.
    """
    accepted = [suite_table.by_code(s.code) for s in protocol.suites]
    ecdhe = [s for s in accepted if s.kex == "ECDHE"]
    unbound = [s.code for s in ecdhe if s.auth != "ECDSA"]
    offer = unbound or [s.code for s in ecdhe]
    tail: list[int] = [] if unbound else list(scan.certificate_curves)
    remaining = list(LEGACY_GROUPS)
    chosen: list[int] = []
    for _ in range(len(LEGACY_GROUPS)):
        groups = remaining + [g for g in tail if g not in remaining]
        answer = await scan.ask(protocol.version, offer, groups=groups)
        if answer.status is Status.FAILED:
            return tuple(chosen), answer.reason, ""
        kex = answer.key_exchange
        if answer.status is not Status.HELLO or answer.version != protocol.version:
            break
        if kex is None or kex.group is None:
            break
        if kex.group not in groups:
            return tuple(chosen), "the server used a curve that was not offered", ""
        if kex.group not in remaining:
            return (
                tuple(chosen),
                "",
                (
                    "curves the server ranks below its certificate's curve "
                    f"({group_label(kex.group)}) cannot be seen in TLS 1.2 and older"
                ),
            )
        chosen.append(kex.group)
        remaining.remove(kex.group)
        if not remaining:
            break
    return tuple(chosen), "", ""


async def extra_dhe(scan: Enumeration, protocols: Sequence[ProtocolResult]) -> None:
    """One more DHE hello when the enumeration saw a single DHE key: reuse needs two."""
    if len(scan.publics["DHE"]) != 1:
        return
    for protocol in reversed(protocols):
        if not protocol.offered or not Version.SSL3 <= protocol.version <= Version.TLS12:
            continue
        dhe = [s.code for s in protocol.suites if suite_table.by_code(s.code).kex == "DHE"]
        if dhe:
            await scan.ask(protocol.version, dhe)
            return


async def fallback(scan: Enumeration, protocols: Sequence[ProtocolResult]) -> ProbeStatus | bool:
    """Does the server refuse a fallback hello (TLS_FALLBACK_SCSV, RFC 7507)?

    Returns the verdict, or the probe's status when there is none: not applicable (one
    version only: nothing to fall back to) or not tested.
    """
    name = "TLS_FALLBACK_SCSV"
    offered = [p for p in protocols if p.offered and p.version != Version.SSL2]
    legacy = [p for p in offered if p.version < Version.TLS13]
    if len(offered) < 2 or not legacy:
        return ProbeStatus(name=name, completed=True, reason="only one version is offered")
    below = legacy[-1] if offered[-1].version == Version.TLS13 else legacy[-2]
    answer = await scan.ask(below.version, below.codes[:MAX_BUNDLE], fallback=True)
    if answer.status is Status.FAILED:
        return ProbeStatus(name=name, completed=False, reason=answer.reason)
    # Any refusal of a hello that the same server accepts without the signal honours it
    # (the RFC asks for inappropriate_fallback; some servers just close).
    return answer.status is Status.REJECTED
