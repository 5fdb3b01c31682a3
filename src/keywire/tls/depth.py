"""The probes that go past the server's first flight, run beside the enumeration.

Once the enumeration knows which suites a version accepts (before it orders them), these start:

- **renegotiation** (TLS <= 1.2): a full handshake, then up to :data:`RENEGOTIATIONS`
  client-initiated renegotiations in a row on the same connection (:mod:`.tls12`);
- **session resumption**: the ticket of that handshake (or its session ID when the server
  issues no tickets) offered on a new connection (TLS <= 1.2); a TLS 1.3 handshake, its tickets, and a ticket offered with
  0-RTT announced, then offered again (:mod:`.session13`);
- **known vulnerabilities** unless turned off: Heartbleed and CCS injection (:mod:`.vulns`) and
  ROBOT when an RSA key exchange is accepted (:mod:`.robot`).

Each returns facts and a :class:`~.results.ProbeStatus`; what could not be decided says why.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field

from .._tasks import spawn
from . import session12, session13, tls12
from ._constants import Version
from ._wire import DecodeError
from .connection import ConnectFailed, Dialer, Endpoint
from .messages import KeyExchange
from .results import (
    EarlyDataResult,
    ProbeStatus,
    RenegotiationResult,
    ResumptionResult,
    VulnerabilityResult,
)
from .suites import by_code
from .vulns import Piggyback

#: Client-initiated renegotiations tried in a row: one more than Node.js's limit (3 in 10
#: minutes), so that a server with such a limit is not reported.
RENEGOTIATIONS = 4
#: How long a probe waits for an answer that a vulnerable server would give at once.
QUIET = 2.0
LEGACY = (Version.TLS12, Version.TLS11, Version.TLS10, Version.SSL3)
SKIPPED = "not run: --no-vulnerability-probes"

RENEGOTIATION = "client-initiated renegotiation"
RESUMPTION = "session resumption"
EARLY_DATA = "TLS 1.3 early data"


@dataclass
class DepthResult:
    renegotiation: RenegotiationResult | None = None
    resumption: ResumptionResult | None = None
    early_data: EarlyDataResult | None = None
    vulnerabilities: list[VulnerabilityResult] = field(default_factory=list)
    probes: list[ProbeStatus] = field(default_factory=list)
    key_exchanges: list[KeyExchange | None] = field(default_factory=list)


@dataclass(frozen=True)
class _Failure:
    """Why a probe could not decide; ``limited`` when it is keywire's limit, not the server's."""

    reason: str
    limited: bool = False


def _failure(exc: BaseException, timeout: float) -> _Failure:
    if isinstance(exc, tls12.Unsupported | session13.Unsupported):
        return _Failure(f"not tested: keywire cannot complete this handshake ({exc})", True)
    if isinstance(exc, tls12.Refused | session13.Closed):
        return _Failure(f"the server refused ({exc})")
    if isinstance(exc, DecodeError):
        return _Failure(f"malformed answer: {exc}")
    if isinstance(exc, asyncio.TimeoutError):
        return _Failure(f"no complete answer within {timeout:g}s")
    if isinstance(exc, ConnectFailed):
        return _Failure(str(exc))
    if isinstance(exc, OSError):
        return _Failure(f"the connection failed ({exc.strerror or exc})")
    raise exc


def _status(name: str, failures: Sequence[_Failure | None]) -> ProbeStatus:
    found = [f for f in failures if f is not None]
    if not found:
        return ProbeStatus(name=name, completed=True)
    return ProbeStatus(
        name=name,
        completed=False,
        reason="; ".join(f.reason for f in found),
        skipped=all(f.limited for f in found),
    )


_EXPECTED = (
    tls12.Refused,
    tls12.Unsupported,
    session13.Closed,
    session13.Unsupported,
    DecodeError,
    asyncio.TimeoutError,
    ConnectFailed,
    OSError,
)


async def _ready(result: VulnerabilityResult) -> VulnerabilityResult:
    return result


class _Depth:
    def __init__(self, dialer: Dialer, endpoint: Endpoint, quiet: float) -> None:
        self.dialer = dialer
        self.endpoint = endpoint
        self.quiet = quiet
        self.out = DepthResult()
        #: (by session ID, by ticket, ticket lifetime hint) for TLS <= 1.2
        self.legacy: tuple[bool | None, bool | None, int | None] = (None, None, None)
        self.legacy_note = ""
        self.modern_note = ""
        #: (resumed, lifetime, tickets) for TLS 1.3
        self.modern: tuple[bool | None, int | None, int] = (None, None, 0)

    # -- TLS <= 1.2 ------------------------------------------------------------------------

    async def legacy_sessions(self, version: int, accepted: Sequence[int]) -> None:
        """One session for renegotiation, its ticket and its session ID (see the module doc)."""
        offer = tls12.client_suites(accepted)
        if version < Version.TLS10 or not offer:
            what = "SSL 3.0" if version < Version.TLS10 else "any suite the server accepts"
            why = _Failure(f"not tested: keywire cannot complete a handshake with {what}", True)
            self.out.renegotiation = RenegotiationResult(version=version, reason=why.reason)
            self.out.probes.append(_status(RENEGOTIATION, [why]))
            self.out.probes.append(_status(RESUMPTION, [why]))
            return
        spec = tls12.full_hello_spec(version, offer, self.endpoint.server_name)
        wait = min(self.dialer.timeout, 3.0)
        first: tls12.Established | None = None
        failure: _Failure | None = None
        by_ticket: asyncio.Future[tuple[bool | None, _Failure | None]] | None = None
        try:
            async with self.dialer.channel(self.endpoint) as channel:
                link = tls12.Link(channel)
                first = await tls12.handshake(link, spec)
                self.out.key_exchanges.append(first.key_exchange)
                if first.ticket:
                    # A ticket is good at once: offer it while this session renegotiates.
                    by_ticket = spawn(self._resume(version, offer, "ticket", first.ticket))
                run = await session12.renegotiate(link, first, spec, RENEGOTIATIONS, wait=wait)
                if by_ticket is None:
                    # A clean close before the session ID is offered: servers drop the
                    # sessions of connections that just vanish.
                    await session12.close(link, wait=self.quiet)
        except _EXPECTED as exc:
            failure = _failure(exc, self.dialer.timeout)
            if first is not None:
                failure = _Failure(f"the session broke off: {failure.reason}", failure.limited)
            self.out.renegotiation = RenegotiationResult(version=version, reason=failure.reason)
        else:
            self.out.renegotiation = RenegotiationResult(
                version=version,
                attempts=RENEGOTIATIONS,
                honoured=run.honoured,
                refusal=run.refusal,
            )
        self.out.probes.append(_status(RENEGOTIATION, [failure]))
        if first is None:
            assert failure is not None
            self.out.probes.append(_status(RESUMPTION, [failure]))
            return
        # Resumption as a client would try it, on a new connection after this one: with the
        # ticket when the server issued one, else with the session ID. A server that issues
        # tickets may keep no session cache for clients that take them (OpenSSL leaves the
        # session ID empty, GnuTLS does not look it up): how it treats clients without
        # tickets is another question, left open.
        if by_ticket is not None:
            resumed, failure = await by_ticket
            self.legacy = (None, resumed, first.ticket_lifetime)
            self.legacy_note = "the server issues tickets: resumption by session ID was not tried"
        else:
            resumed, failure = await self._resume(version, offer, "session ID", first.session_id)
            self.legacy = (resumed, False, None)
        self.out.probes.append(_status(RESUMPTION, [failure]))

    async def _resume(
        self, version: int, offer: tuple[int, ...], what: str, value: bytes
    ) -> tuple[bool | None, _Failure | None]:
        """Offer a session ID or a ticket (``what``) on a new connection: (resumed, failure).

        Without a session ID nothing can be resumed by one (False).
        """
        if not value:
            return False, None
        ticket = what == "ticket"
        spec = tls12.full_hello_spec(
            version,
            offer,
            self.endpoint.server_name,
            session_ticket=value if ticket else None,
            session_id=os.urandom(32) if ticket else value,
        )
        try:
            async with self.dialer.channel(self.endpoint) as channel:
                answer = await session12.offer_session(channel, spec)
        except _EXPECTED as exc:
            failure = _failure(exc, self.dialer.timeout)
            return None, _Failure(f"{what}: {failure.reason}", failure.limited)
        return answer.resumed, None

    # -- TLS 1.3 ---------------------------------------------------------------------------

    async def tls13(
        self, accepted: Sequence[int], older_resumption: Awaitable[object] | None = None
    ) -> None:
        """A TLS 1.3 session and its tickets; a ticket offered back when it allows early data,
        or when ``older_resumption`` (the best version before 1.3) turns out to be None: the
        only way then to tell whether tickets resume."""
        name = self.endpoint.server_name
        suites = tuple(s for s in accepted if s in session13.SUITES) or session13.SUITES
        try:
            async with self.dialer.channel(self.endpoint) as channel:
                full = await session13.full_handshake(channel, name, suites)
            tickets = full.tickets
            answer: session13.ResumeAnswer | None = None
            replay: session13.ResumeAnswer | None = None
            early = next((t for t in tickets if t.max_early_data), None)
            chosen = early or (tickets[0] if tickets else None)
            if early is None and older_resumption is not None and await older_resumption:
                chosen = None  # resumption is tested with TLS 1.2 already: no finding needs it
                self.modern_note = "TLS 1.3 tickets were not offered back (no early data to test)"
            if chosen is not None:
                async with self.dialer.channel(self.endpoint) as channel:
                    answer = await session13.offer_ticket(
                        channel, name, chosen, early_data=early is not None
                    )
                if early is not None and answer.early_data_accepted:
                    async with self.dialer.channel(self.endpoint) as channel:
                        replay = await session13.offer_ticket(
                            channel, name, chosen, early_data=True
                        )
        except _EXPECTED as exc:
            failure = _failure(exc, self.dialer.timeout)
            self.out.early_data = EarlyDataResult(reason=failure.reason)
            self.out.probes.append(_status(EARLY_DATA, [failure]))
            self.modern = (None, None, 0)
            return
        lifetime = max((t.lifetime for t in tickets), default=None)
        resumed = answer.resumed if answer else (None if self.modern_note else False)
        self.modern = (resumed, lifetime, len(tickets))
        if early is None:
            result = EarlyDataResult(
                accepted=False,
                reason="no ticket allows early data"
                if tickets
                else "the server issues no TLS 1.3 tickets",
            )
        else:
            assert answer is not None
            result = EarlyDataResult(
                accepted=answer.early_data_accepted,
                max_size=early.max_early_data,
                replay_accepted=replay.early_data_accepted if replay is not None else None,
            )
        self.out.early_data = result
        self.out.probes.append(ProbeStatus(name=EARLY_DATA, completed=True))

    def resumption(self) -> ResumptionResult:
        by_id, by_ticket, lifetime = self.legacy
        resumed, lifetime13, count = self.modern
        return ResumptionResult(
            session_id=by_id,
            ticket=by_ticket,
            ticket_lifetime=lifetime,
            tls13=resumed,
            tls13_lifetime=lifetime13,
            tls13_tickets=count,
            note="; ".join(n for n in (self.legacy_note, self.modern_note) if n),
        )


async def probe_depth(
    dialer: Dialer,
    endpoint: Endpoint,
    accepted: Mapping[int, Awaitable[tuple[int, ...] | None]],
    *,
    vulnerability_probes: bool = True,
    piggybacks: Sequence[Piggyback] = (),
    riders_settled: Awaitable[None] | None = None,
) -> DepthResult:
    """Run the probes of the module docstring once ``accepted`` (version -> suites) is known.

    ``piggybacks`` are vulnerability probes the enumeration carries on its own TLS 1.2
    connections (until ``riders_settled``); whichever did not get a connection (or could not
    decide) then runs on its own.
    """
    from .robot import robot
    from .vulns import ccs_injection, heartbleed

    quiet = min(dialer.timeout, QUIET)
    depth = _Depth(dialer, endpoint, quiet)
    not_legacy = "not applicable: the server offers no TLS 1.2 or older"

    async def best_legacy() -> tuple[int, tuple[int, ...]] | None:
        for candidate in LEGACY:
            if candidate in accepted:
                found = await accepted[candidate]
                if found:
                    return int(candidate), found
        return None

    legacy_task = spawn(best_legacy())

    async def sessions() -> None:
        legacy = await legacy_task
        if legacy is not None:
            await depth.legacy_sessions(*legacy)
            return
        depth.out.renegotiation = RenegotiationResult(reason=not_legacy)
        depth.out.probes.append(ProbeStatus(name=RENEGOTIATION, completed=True, reason=not_legacy))

    async def modern() -> None:
        tls13 = accepted.get(Version.TLS13)
        suites13 = await tls13 if tls13 is not None else None
        if suites13:
            await depth.tls13(suites13, legacy_task)
        elif await legacy_task is not None:
            depth.out.early_data = EarlyDataResult(accepted=False, reason="TLS 1.3 is not offered")

    async def vulnerable() -> None:
        names = ("Heartbleed", "CCS injection", "ROBOT")
        if not vulnerability_probes:
            depth.out.probes.extend(
                ProbeStatus(name=name, completed=False, reason=SKIPPED, skipped=True)
                for name in names
            )
            return
        legacy = await legacy_task
        if legacy is None:
            depth.out.probes.extend(
                ProbeStatus(name=name, completed=True, reason=not_legacy) for name in names
            )
            return
        version, suites = legacy
        probes: list[Awaitable[VulnerabilityResult]] = []
        rsa = [s for s in suites if by_code(s).kex == "RSA" and not by_code(s).export]
        gcm = [s for s in rsa if by_code(s).aead]
        if rsa:
            probes.append(robot(dialer, endpoint, version, gcm or rsa, quiet=quiet))
        else:
            depth.out.probes.append(
                ProbeStatus(
                    name="ROBOT",
                    completed=True,
                    reason="not applicable: no RSA key exchange is accepted",
                )
            )
        robot_task = spawn(asyncio.gather(*probes))
        if riders_settled is not None:
            await riders_settled
        riders = {p.name: p for p in piggybacks}
        standalone: list[Awaitable[VulnerabilityResult]] = []
        for name, probe in (("Heartbleed", heartbleed), ("CCS injection", ccs_injection)):
            rider = riders.get(name)
            if rider is not None:
                rider.claimed = True  # the enumeration is past its suites: no more rides
            carried = rider.result if rider is not None and rider.version == version else None
            if carried is not None and carried.vulnerable is not None:
                standalone.append(_ready(carried))
            else:
                standalone.append(probe(dialer, endpoint, version, suites, quiet=quiet))
        results = [*await asyncio.gather(*standalone), *await robot_task]
        for result in results:
            depth.out.vulnerabilities.append(result)
            depth.out.probes.append(
                ProbeStatus(
                    name=result.name,
                    completed=result.vulnerable is not None,
                    reason="" if result.vulnerable is not None else result.detail,
                    skipped=result.limited,
                )
            )

    await asyncio.gather(sessions(), modern(), vulnerable())
    depth.out.resumption = depth.resumption()
    return depth.out
