"""Enumerate what one TLS endpoint accepts: versions, suites, preference, groups and extras.

The method is testssl.sh's, run concurrently: offer a bundle of suites, note the one the server
picks, offer the bundle again without it, until the server refuses. Bundles are interleaved slices
of the whole registry (at most :data:`MAX_BUNDLE` suites, because some servers choke on longer
lists) and run side by side, as do the versions, so one host costs a few dozen short connections
in a handful of round trips, all within the host's connection cap.

Whatever could not be established is recorded as *not tested* with its reason, never as a "no".
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import field

from .._dataclass import dataclass
from .._tasks import TaskScope, spawn
from . import suites as suite_table
from ._constants import (
    ALERT_PROTOCOL_VERSION,
    HANDSHAKE,
    Group,
    Version,
    alert_label,
    group_label,
)
from ._sightings import Sightings
from .connection import Answer, ConnectFailed, Dialer, Endpoint, Mode, Status, exchange
from .depth import QUIET, probe_depth
from .hello import (
    LEGACY_GROUPS,
    TLS13_GROUPS,
    HelloSpec,
    client_hello,
    hello_bytes,
    record_version,
    records,
    sslv2_client_hello,
)
from .messages import KeyExchange
from .results import (
    AcceptedSuite,
    Chain,
    DhGroup,
    EphemeralKeys,
    ProbeStatus,
    ProtocolResult,
    TlsScanResult,
)
from .ride13 import Ride13
from .tls13 import KEY_SHARE_GROUPS, KeyShare, Tls13Flight, read_encrypted_flight
from .vulns import CCS_INJECTION, HEARTBLEED, Piggyback

MAX_BUNDLE = 126  # testssl.sh: "some servers can't handle a handshake with >= 128 ciphers"
LEGACY_VERSIONS = (Version.SSL3, Version.TLS10, Version.TLS11, Version.TLS12)
ALL_VERSIONS = (Version.SSL2, *LEGACY_VERSIONS, Version.TLS13)
DEPTH_VERSIONS = (*LEGACY_VERSIONS, Version.TLS13)


@dataclass
class _ChainRun:
    """The outcome of one drop-the-chosen-suite loop."""

    accepted: list[AcceptedSuite] = field(default_factory=list)
    other_version: int | None = None
    refusal: str = ""
    failure: str = ""
    aborted: str = ""


def _bundles(codes: Sequence[int], size: int = MAX_BUNDLE) -> list[list[int]]:
    count = max(1, -(-len(codes) // size))
    return [list(codes[i::count]) for i in range(count)]


class _Scan:
    def __init__(self, dialer: Dialer, endpoint: Endpoint) -> None:
        self.dialer = dialer
        self.endpoint = endpoint
        self._share: KeyShare | None = None
        #: The depth probes' TLS 1.3 session, carried by an enumeration connection if one fits.
        self.ride13: Ride13 | None = None
        self.chains: dict[tuple[bytes, ...], str] = {}
        self.renegotiation: list[bool] = []
        self.compression: list[bool] = []
        self.stapled: list[bool] = []
        self.staples: dict[tuple[bytes, ...], bytes] = {}
        self.alpn: set[str] = set()
        self.alpn_seen = False
        self.certificate_curves: list[int] = []
        #: Per version, the suites accepted (before they are ordered), for the depth probes.
        self.accepted: dict[int, asyncio.Future[tuple[int, ...] | None]] = {}
        self.sightings = Sightings()
        self.dh_groups: dict[tuple[bytes, bytes], str] = {}
        #: Vulnerability probes that ride on the enumeration's TLS 1.2 connections, and when
        #: the enumeration of TLS 1.2 is over (no ride after that).
        self.piggybacks: list[Piggyback] = []
        self.riders_settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.publics: dict[str, list[bytes]] = {"DHE": [], "ECDHE": []}

    def accepted_future(self, version: int) -> asyncio.Future[tuple[int, ...] | None]:
        if version not in self.accepted:
            self.accepted[version] = asyncio.get_running_loop().create_future()
        return self.accepted[version]

    def note_key_exchange(self, kex: KeyExchange | None, seen_with: str) -> None:
        """Keep the DH group and a digest of the ephemeral public value of one connection."""
        if kex is None or not kex.public:
            return
        kind = "DHE" if kex.kind == "DH" else "ECDHE" if kex.kind == "ECDH" else ""
        if not kind:
            return
        if kind == "DHE":
            self.dh_groups.setdefault((kex.dh_prime, kex.dh_generator), seen_with)
        self.publics[kind].append(hashlib.sha256(kex.public).digest()[:16])

    # -- sending ---------------------------------------------------------------------------

    def x25519_share(self) -> KeyShare:
        if self._share is None:
            self._share = KeyShare(Group.X25519)
        return self._share

    async def ask(
        self,
        version: int,
        suites: Sequence[int],
        *,
        groups: Sequence[int] = (),
        key_shares: bool = True,
        fallback: bool = False,
        piggyback: bool = False,
    ) -> Answer:
        # While the first connection is being made, wait for it: when it fails, answer what
        # exchange() would, without building a hello for nothing.
        await self.dialer.first_decided()
        if self.dialer.connect_error:
            return Answer(
                status=Status.FAILED, reason=self.dialer.connect_error, connect_failed=True
            )
        tls13 = version >= Version.TLS13
        shares: tuple[tuple[int, bytes], ...] = ()
        if tls13 and key_shares:
            shares = ((Group.X25519, self.x25519_share().public),)
        spec = HelloSpec(
            version=version,
            suites=tuple(suites),
            server_name=self.endpoint.server_name,
            groups=tuple(groups),
            key_shares=shares,
            offer_compression=not tls13,
            fallback_scsv=fallback,
            session_id=hello_bytes(32) if tls13 else b"",
        )
        mode = Mode.HELLO_ONLY if tls13 else Mode.FLIGHT
        message = client_hello(spec)
        after13 = None
        if tls13 and shares and piggyback and self.ride13 is not None:
            after13 = self.ride13.rider(message)
        rider = None
        if piggyback:
            rider = next(
                (p for p in self.piggybacks if p.version == version and not p.claimed), None
            )
        if rider is not None:
            rider.claimed = True
        answer = await exchange(
            self.dialer,
            self.endpoint,
            records(HANDSHAKE, record_version(version), message),
            mode,
            after=rider.run if rider is not None else None,
            after13=after13,
        )
        if rider is not None and rider.result is None:
            rider.claimed = False  # this connection did not carry it: offer it to the next
        self._note(answer, version)
        return answer

    def _note(self, answer: Answer, version: int) -> None:
        hello = answer.server_hello
        if hello is None or hello.version != version or version >= Version.TLS13:
            return
        if not answer.complete:
            return
        if answer.certificates:
            suite = suite_table.by_code(hello.cipher_suite)
            if answer.certificates not in self.chains:
                self.chains[answer.certificates] = f"{Version(version).label} {suite.name}"
                curve = _ec_curve(answer.certificates[0])
                if curve is not None and curve not in self.certificate_curves:
                    self.certificate_curves.append(curve)
            self.stapled.append(bool(answer.ocsp_response))
            if answer.ocsp_response:
                self.staples.setdefault(answer.certificates, answer.ocsp_response)
        self.note_key_exchange(
            answer.key_exchange,
            f"{Version(version).label} {suite_table.by_code(hello.cipher_suite).name}",
        )
        if version >= Version.TLS10:
            self.renegotiation.append(hello.secure_renegotiation)
        self.compression.append(hello.compression != 0)
        self.alpn_seen = True
        if hello.alpn:
            self.alpn.add(hello.alpn)

    # -- suites ----------------------------------------------------------------------------

    async def _drop_loop(
        self,
        version: int,
        offer: list[int],
        *,
        verdict: asyncio.Future[bool] | None = None,
        gate: asyncio.Future[bool] | None = None,
    ) -> _ChainRun:
        """Offer ``offer``, drop what the server picks, repeat until it refuses.

        The first bundle of a version resolves ``verdict`` with its first answer: True when the
        server refused the version itself (a protocol_version alert, or another version). The
        other bundles wait on that ``gate`` and stand down if so: one connection, not three,
        for each version a server does not speak.
        """
        run = _ChainRun()
        if gate is not None and await gate:
            run.refusal = "the server refused the version"
            return run
        try:
            return await self._drop_loop_body(version, offer, run, verdict)
        finally:
            if verdict is not None and not verdict.done():
                verdict.set_result(False)

    async def _drop_loop_body(
        self, version: int, offer: list[int], run: _ChainRun, verdict: asyncio.Future[bool] | None
    ) -> _ChainRun:
        remaining = list(offer)
        while remaining:
            answer = await self.ask(version, remaining, piggyback=True)
            if verdict is not None and not verdict.done():
                verdict.set_result(
                    (answer.status is Status.REJECTED and answer.alert == ALERT_PROTOCOL_VERSION)
                    or (answer.status is Status.HELLO and answer.version != version)
                )
            if answer.status is Status.FAILED:
                run.failure = answer.reason
                return run
            if answer.status is Status.REJECTED:
                run.refusal = answer.reason
                return run
            if answer.version != version:
                run.other_version = answer.version
                return run
            picked = answer.picked
            if picked not in remaining:
                run.failure = f"the server chose suite 0x{picked or 0:04x}, which was not offered"
                return run
            remaining.remove(picked)
            if answer.complete:
                self.sightings.seen(version, picked)
            else:
                # It chose the suite, then could not go on with it: not usable.
                why = alert_label(answer.alert) if answer.alert is not None else answer.reason
                run.aborted = why
                continue
            kex = answer.key_exchange
            run.accepted.append(
                AcceptedSuite(
                    code=picked,
                    dh_bits=kex.dh_bits if kex is not None and kex.kind == "DH" else 0,
                    group=kex.group if kex is not None else None,
                    rsa_export_bits=kex.rsa_bits if kex is not None else 0,
                )
            )
        return run

    async def protocol(self, version: int) -> ProtocolResult:
        try:
            return await self._protocol(version)
        finally:
            self.sightings.over(version)  # no depth probe waits on a version that failed
            if version == Version.TLS12 and not self.riders_settled.done():
                self.riders_settled.set_result(None)

    async def _protocol(self, version: int) -> ProtocolResult:
        candidates = [s.code for s in suite_table.for_version(version)]
        first, *rest = _bundles(candidates)
        verdict: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        runs = await asyncio.gather(
            self._drop_loop(version, first, verdict=verdict),
            *(self._drop_loop(version, bundle, gate=verdict) for bundle in rest),
        )
        accepted = {s.code: s for run in runs for s in run.accepted}
        failures = [run.failure for run in runs if run.failure]
        future = self.accepted_future(version)
        if not future.done():
            future.set_result(tuple(c for c in candidates if c in accepted) or None)
        self.sightings.over(version)
        label = Version(version).label
        if not accepted:
            if failures:
                return ProtocolResult(version=version, offered=None, reason=failures[0])
            others = [run.other_version for run in runs if run.other_version is not None]
            aborted = [run.aborted for run in runs if run.aborted]
            if others:
                reason = f"the server answered with {_label(others[0])} instead"
            elif aborted:
                reason = f"the server chose a {label} suite but did not finish ({aborted[0]})"
            else:
                reason = next((run.refusal for run in runs if run.refusal), "refused")
            return ProtocolResult(version=version, offered=False, reason=reason)
        ordered = [accepted[c] for c in candidates if c in accepted]
        preference, order, order_failure = await self._preference(version, ordered)
        reason = failures[0] if failures else order_failure
        return ProtocolResult(
            version=version,
            offered=True,
            reason=reason,
            suites=tuple(order),
            suites_complete=not failures,
            server_preference=preference,
        )

    async def _pick(self, version: int, offer: Sequence[int]) -> int | None:
        answer = await self.ask(version, offer, piggyback=True)
        if answer.status is not Status.HELLO or answer.version != version:
            return None
        return answer.picked if answer.picked in offer else None

    async def _preference(
        self, version: int, accepted: list[AcceptedSuite]
    ) -> tuple[bool | None, list[AcceptedSuite], str]:
        """Whether the server imposes its order, and that order (one connection per suite)."""
        if len(accepted) < 2:
            return None, accepted, ""
        by_code = {s.code: s for s in accepted}
        weakest_first = sorted(
            by_code, key=lambda c: (suite_table.by_code(c).strength, -by_code[c].code)
        )
        first = await self._pick(version, weakest_first)
        if first is None:
            return None, accepted, "the preference probe got no usable answer"
        if first == weakest_first[0]:
            strongest_first = weakest_first[::-1]
            second = await self._pick(version, strongest_first)
            if second is None:
                return None, accepted, "the preference probe got no usable answer"
            if second == strongest_first[0]:
                return False, accepted, ""
            first = second
        order = [first]
        remaining = [c for c in weakest_first if c != first]
        while len(remaining) > 1:
            picked = await self._pick(version, remaining)
            if picked is None:
                rest = [by_code[c] for c in remaining]
                return True, [by_code[c] for c in order] + rest, "the order probe was cut short"
            order.append(picked)
            remaining.remove(picked)
        order += remaining
        return True, [by_code[c] for c in order], ""

    async def sslv2(self) -> ProtocolResult:
        ciphers = tuple(c.code for c in suite_table.SSL2)
        answer = await exchange(self.dialer, self.endpoint, sslv2_client_hello(ciphers), Mode.SSL2)
        if answer.ssl2 is not None:
            accepted = tuple(AcceptedSuite(code=c) for c in answer.ssl2.ciphers)
            if answer.ssl2.certificate:
                self.chains.setdefault((answer.ssl2.certificate,), "SSLv2")
            return ProtocolResult(version=Version.SSL2, offered=True, suites=accepted)
        if answer.status is Status.FAILED:
            return ProtocolResult(version=Version.SSL2, offered=None, reason=answer.reason)
        reason = answer.reason or "the server answered with a newer protocol"
        return ProtocolResult(version=Version.SSL2, offered=False, reason=reason)

    # -- groups ----------------------------------------------------------------------------

    async def groups_tls13(self) -> tuple[tuple[int, ...], str, bool]:
        """(groups accepted for TLS 1.3 in keywire's order, failure, refused-first).

        Each hello carries no key share, so the server names its choice in a
        HelloRetryRequest: this finds hybrid post-quantum groups without computing them. Two
        chains run side by side (classical curves; post-quantum and finite-field groups).
        """
        classical = [g for g in TLS13_GROUPS if g < 256]
        rest = [g for g in TLS13_GROUPS if g >= 256]
        runs = await asyncio.gather(self._group_chain(classical), self._group_chain(rest))
        chosen = {g for found, _, _ in runs for g in found}
        failure = next((f for _, f, _ in runs if f), "")
        refused = all(r for _, _, r in runs)
        return tuple(g for g in TLS13_GROUPS if g in chosen), failure, refused

    async def _group_chain(self, offer: list[int]) -> tuple[tuple[int, ...], str, bool]:
        suites = [s.code for s in suite_table.for_version(Version.TLS13)]
        remaining = list(offer)
        chosen: list[int] = []
        for _ in range(len(offer)):
            answer = await self.ask(Version.TLS13, suites, groups=remaining, key_shares=False)
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

    async def groups_legacy(self, protocol: ProtocolResult) -> tuple[tuple[int, ...], str, str]:
        """Curves the server uses for ECDHE in TLS <= 1.2, from its ServerKeyExchange.

        Returns (curves in the order chosen, failure, note). In TLS <= 1.2 the client's curve list
        also says which ECDSA certificates it can verify, so an ECDSA-only server needs its
        certificate's curve offered every time; curves it ranks below that one stay unseen.
        """
        accepted = [suite_table.by_code(s.code) for s in protocol.suites]
        ecdhe = [s for s in accepted if s.kex == "ECDHE"]
        unbound = [s.code for s in ecdhe if s.auth != "ECDSA"]
        offer = unbound or [s.code for s in ecdhe]
        tail: list[int] = [] if unbound else list(self.certificate_curves)
        remaining = list(LEGACY_GROUPS)
        chosen: list[int] = []
        for _ in range(len(LEGACY_GROUPS)):
            groups = remaining + [g for g in tail if g not in remaining]
            answer = await self.ask(protocol.version, offer, groups=groups)
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

    # -- extras ----------------------------------------------------------------------------

    async def extra_dhe(self, protocols: Sequence[ProtocolResult]) -> None:
        """One more DHE hello when the enumeration saw a single DHE key: reuse needs two."""
        if len(self.publics["DHE"]) != 1:
            return
        for protocol in reversed(protocols):
            if not protocol.offered or not Version.SSL3 <= protocol.version <= Version.TLS12:
                continue
            dhe = [s.code for s in protocol.suites if suite_table.by_code(s.code).kex == "DHE"]
            if dhe:
                await self.ask(protocol.version, dhe)
                return

    async def fallback(self, protocols: Sequence[ProtocolResult]) -> ProbeStatus | bool:
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
        answer = await self.ask(below.version, below.codes[:MAX_BUNDLE], fallback=True)
        if answer.status is Status.FAILED:
            return ProbeStatus(name=name, completed=False, reason=answer.reason)
        # Any refusal of a hello that the same server accepts without the signal honours it
        # (the RFC asks for inappropriate_fallback; some servers just close).
        return answer.status is Status.REJECTED


_CURVES = {
    "secp256r1": Group.SECP256R1,
    "secp384r1": Group.SECP384R1,
    "secp521r1": Group.SECP521R1,
    "brainpoolP256r1": Group.BRAINPOOLP256R1,
    "brainpoolP384r1": Group.BRAINPOOLP384R1,
    "brainpoolP512r1": Group.BRAINPOOLP512R1,
}


def _ec_curve(der: bytes) -> int | None:
    """The named group of an ECDSA leaf's key, or None."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except ValueError:
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _CURVES.get(key.curve.name)
    return None


def _label(version: int | None) -> str:
    if version is None:
        return "no version"
    try:
        return Version(version).label
    except ValueError:
        return f"version 0x{version:04x}"


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
    scan = _Scan(dialer, endpoint)
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
    groups13 = spawn(scan.groups_tls13()) if tls13 else None

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

    fallback_task = spawn(scan.fallback(protocols))

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
        groups_legacy, failure, groups_legacy_note = await scan.groups_legacy(ecdhe_protocols[-1])
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

    extra_dhe = spawn(scan.extra_dhe(protocols))
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
