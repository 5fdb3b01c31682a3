"""Enumerate what one TLS endpoint accepts: versions, suites, preference, groups and extras.

The method is testssl.sh's, run concurrently: offer a bundle of suites, note the one the server
picks, offer the bundle again without it, until the server refuses. Bundles are interleaved slices
of the whole registry (at most :data:`~._enumerate.MAX_BUNDLE` suites, because some servers choke on longer
lists) and run side by side, as do the versions, so one host costs a few dozen short connections
in a handful of round trips, all within the host's connection cap.

Whatever could not be established is recorded as *not tested* with its reason, never as a "no".
The enumeration is :mod:`._enumerate`'s, the groups and extras :mod:`._extras`'; this module runs
them side by side with the depth probes (:mod:`.depth`) and assembles the result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence

from .._tasks import TaskScope, spawn
from . import _extras
from . import suites as suite_table
from ._constants import Version, group_label
from ._enumerate import Enumeration
from .connection import ConnectFailed, Dialer, Endpoint
from .depth import QUIET, probe_depth
from .results import Chain, DhGroup, EphemeralKeys, ProbeStatus, TlsScanResult
from .ride13 import Ride13
from .tls13 import KEY_SHARE_GROUPS, Tls13Flight, read_encrypted_flight
from .vulns import CCS_INJECTION, HEARTBLEED, Piggyback

LEGACY_VERSIONS = (Version.SSL3, Version.TLS10, Version.TLS11, Version.TLS12)
ALL_VERSIONS = (Version.SSL2, *LEGACY_VERSIONS, Version.TLS13)
DEPTH_VERSIONS = (*LEGACY_VERSIONS, Version.TLS13)


def _verdict(values: Iterable[bool], *, all_of: bool) -> bool | None:
    seen = list(values)
    if not seen:
        return None
    return all(seen) if all_of else any(seen)


async def scan_endpoint(
    dialer: Dialer,
    endpoint: Endpoint,
    *,
    versions: Sequence[int] = ALL_VERSIONS,
    vulnerability_probes: bool = True,
) -> TlsScanResult:
    """Run every TLS probe against ``endpoint`` and return the facts (see the module docstring).

    ``vulnerability_probes`` False leaves out Heartbleed, CCS injection and ROBOT (recorded as
    skipped, see :mod:`.depth`).
    """
    started = time.perf_counter()
    # One connection first: an endpoint that takes none (a cleartext API's port 443) has every
    # probe fail the same way, so its result is the one the probes gave the last such endpoint
    # with the same failure, with this endpoint's name (see _UNREACHABLE).
    if not await _reach(dialer, endpoint):
        key = (dialer.connect_error, tuple(versions), vulnerability_probes)
        known = _UNREACHABLE.get(key)
        if known is not None:
            return dataclasses.replace(
                known,
                host=endpoint.host,
                address=endpoint.address,
                port=endpoint.port,
                server_name=endpoint.server_name,
                connections=dialer.connections,
                elapsed_s=round(time.perf_counter() - started, 3),
            )
    # The probes run side by side; whatever happens to this coroutine (a scan deadline
    # cancels it), none of them outlives it.
    children = TaskScope()
    try:
        with children:
            result = await _scan_endpoint(dialer, endpoint, versions, vulnerability_probes)
    finally:
        await children.close()
    if not result.reachable and dialer.connected == 0:
        if len(_UNREACHABLE) >= 32:
            _UNREACHABLE.clear()
        _UNREACHABLE[dialer.connect_error, tuple(versions), vulnerability_probes] = result
    return result


async def _reach(dialer: Dialer, endpoint: Endpoint) -> bool:
    """Connect and hang up: False (``dialer.connect_error`` says why) when that fails."""
    try:
        async with dialer.channel(endpoint):
            return True
    except ConnectFailed:
        return False


#: The result of a scan of an endpoint that took no connection, by (the failure, the versions,
#: vulnerability_probes): every probe failed at its first connection, so it is the same for
#: any endpoint but for the endpoint's own fields (tests/tls/test_dialer_first_connection.py
#: holds a reused one to a scan of another endpoint).
_UNREACHABLE: dict[tuple[str, tuple[int, ...], bool], TlsScanResult] = {}


async def _scan_endpoint(
    dialer: Dialer, endpoint: Endpoint, versions: Sequence[int], vulnerability_probes: bool
) -> TlsScanResult:
    started = time.perf_counter()
    scan = Enumeration(dialer, endpoint)
    accepted = {v: scan.accepted_future(v) for v in versions if v in DEPTH_VERSIONS}
    quiet = min(dialer.timeout, QUIET)
    if Version.TLS13 in versions:
        scan.ride13 = Ride13(scan.x25519_share(), quiet=quiet)
    if vulnerability_probes:
        scan.piggybacks = [
            Piggyback(HEARTBLEED, quiet, Version.TLS12),
            Piggyback(CCS_INJECTION, quiet, Version.TLS12),
        ]
    if Version.TLS12 not in versions:
        scan.riders_settled.set_result(None)
    depth_task = spawn(
        probe_depth(
            dialer,
            endpoint,
            accepted,
            vulnerability_probes=vulnerability_probes,
            piggybacks=scan.piggybacks,
            riders_settled=scan.riders_settled,
            ride13=scan.ride13,
            sightings=scan.sightings,
        )
    )
    protocol_tasks = {
        v: spawn(scan.protocol(v) if v != Version.SSL2 else scan.sslv2())
        for v in versions
        if v != Version.TLS13
    }
    tls13 = Version.TLS13 in versions
    if tls13:
        protocol_tasks[Version.TLS13] = spawn(scan.protocol(Version.TLS13))
    groups13 = spawn(_extras.groups_tls13(scan)) if tls13 else None

    async def tls13_flight() -> Tls13Flight | None:
        # TLS 1.3 encrypts the certificate: decrypt its flight only when no older version
        # showed a chain in the clear (TLS 1.3-only servers, or anonymous suites before 1.3).
        if not (await protocol_tasks[Version.TLS13]).offered:
            return None
        for version, task in protocol_tasks.items():
            if version != Version.TLS13:
                await task
        if scan.chains:
            return None
        return await read_encrypted_flight(dialer, endpoint)

    flight13 = spawn(tls13_flight()) if tls13 else None
    protocols = [await protocol_tasks[v] for v in sorted(protocol_tasks)]
    by_version = {p.version: p for p in protocols}
    probes: list[ProbeStatus] = [
        ProbeStatus(
            name=f"protocol {p.label}",
            completed=p.offered is not None and p.suites_complete,
            reason=p.reason if p.offered is None or not p.suites_complete else "",
        )
        for p in protocols
    ]

    fallback_task = spawn(_extras.fallback(scan, protocols))

    # Curves for ECDHE in TLS <= 1.2, at the newest such version with an ECDHE suite.
    ecdhe_protocols = [
        p
        for p in protocols
        if p.offered
        and Version.SSL3 <= p.version <= Version.TLS12
        and any(suite_table.by_code(s.code).kex == "ECDHE" for s in p.suites)
    ]
    groups_legacy: tuple[int, ...] | None = None
    groups_legacy_note = ""
    if ecdhe_protocols:
        groups_legacy, failure, groups_legacy_note = await _extras.groups_legacy(
            scan, ecdhe_protocols[-1]
        )
        probes.append(ProbeStatus(name="ECDHE curves", completed=not failure, reason=failure))

    groups: tuple[int, ...] | None = None
    tls13_offered = by_version.get(Version.TLS13)
    if groups13 is not None:
        chosen, failure, refused = await groups13
        if tls13_offered is not None and tls13_offered.offered:
            groups = chosen
            if refused:
                failure = "the server refused a TLS 1.3 hello without key shares"
            probes.append(ProbeStatus(name="TLS 1.3 groups", completed=not failure, reason=failure))

    flight = await flight13 if flight13 is not None else None
    if flight is not None and tls13_offered is not None and tls13_offered.offered:
        reason = flight.reason
        if not flight.ok and groups and not set(groups) & set(KEY_SHARE_GROUPS):
            names = ", ".join(group_label(g) for g in groups)
            reason = f"the server's TLS 1.3 groups ({names}) are ones keywire cannot compute"
        probes.append(ProbeStatus(name="TLS 1.3 certificate", completed=flight.ok, reason=reason))
        if flight.ok:
            if flight.certificates:
                scan.chains.setdefault(flight.certificates, "TLSv1.3")
            scan.stapled.append(bool(flight.ocsp_response))
            if flight.ocsp_response and flight.certificates:
                scan.staples.setdefault(flight.certificates, flight.ocsp_response)
            scan.alpn_seen = True
            if flight.alpn:
                scan.alpn.add(flight.alpn)

    extra_dhe = spawn(_extras.extra_dhe(scan, protocols))
    depth = await depth_task
    await extra_dhe
    for kex in depth.key_exchanges:
        scan.note_key_exchange(kex, "a completed handshake")
    probes.extend(depth.probes)

    fallback_result = await fallback_task
    fallback: bool | None = None
    if isinstance(fallback_result, ProbeStatus):
        probes.append(fallback_result)
    else:
        fallback = fallback_result
        probes.append(ProbeStatus(name="TLS_FALLBACK_SCSV", completed=True))
    reachable = dialer.connected > 0
    return TlsScanResult(
        host=endpoint.host,
        address=endpoint.address,
        port=endpoint.port,
        server_name=endpoint.server_name,
        reachable=reachable,
        error=dialer.connect_error if not reachable else "",
        protocols=tuple(protocols),
        groups=groups,
        groups_legacy=groups_legacy,
        groups_legacy_note=groups_legacy_note,
        fallback_scsv=fallback,
        secure_renegotiation=_verdict(scan.renegotiation, all_of=True),
        compression=_verdict(scan.compression, all_of=False),
        ocsp_stapling=_verdict(scan.stapled, all_of=False),
        alpn=tuple(sorted(scan.alpn)) if scan.alpn_seen else None,
        chains=tuple(
            Chain(certificates=c, seen_with=w, ocsp_response=scan.staples.get(c, b""))
            for c, w in scan.chains.items()
        ),
        dh_groups=tuple(
            DhGroup(prime=p, generator=g, seen_with=w) for (p, g), w in scan.dh_groups.items()
        ),
        ephemeral_keys=tuple(
            EphemeralKeys(kind=kind, samples=len(values), distinct=len(set(values)))
            for kind, values in scan.publics.items()
            if values
        ),
        renegotiation=depth.renegotiation,
        resumption=depth.resumption,
        early_data=depth.early_data,
        vulnerabilities=tuple(depth.vulnerabilities),
        probes=tuple(probes),
        connections=dialer.connections,
        elapsed_s=round(time.perf_counter() - started, 3),
    )
