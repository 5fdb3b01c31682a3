"""The suite enumeration of one TLS endpoint: versions, accepted suites and the server's order.

Offer a bundle of suites, note the one the server picks, offer the bundle again without it,
until the server refuses (testssl.sh's method, run concurrently). Every answer's extras (chains,
renegotiation, compression, stapling, ALPN, key exchanges) are noted on the way.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import field

from .._dataclass import dataclass
from . import suites as suite_table
from ._constants import ALERT_PROTOCOL_VERSION, HANDSHAKE, Group, Version, alert_label
from ._sightings import Sightings
from .connection import Answer, Dialer, Endpoint, Mode, Status, exchange
from .hello import HelloSpec, client_hello, hello_bytes, record_version, records, sslv2_client_hello
from .messages import KeyExchange
from .results import AcceptedSuite, ProtocolResult
from .ride13 import Ride13
from .tls13 import KeyShare
from .vulns import Piggyback

MAX_BUNDLE = 126  # testssl.sh: "some servers can't handle a handshake with >= 128 ciphers"


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


class Enumeration:
    """The suite enumeration of one endpoint: its connections' findings, and the hellos it sends."""

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
