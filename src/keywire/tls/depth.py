"""The probes that go past the server's first flight, run beside the enumeration.

Each starts as soon as the enumeration has seen the server accept a suite of the version it
needs (:mod:`._sightings`), not once the whole list is known:

- **renegotiation** (TLS <= 1.2): a full handshake, then up to :data:`RENEGOTIATIONS`
  client-initiated renegotiations in a row on the same connection (:mod:`.tls12`);
- **session resumption**: the ticket of that handshake (or its session ID when the server
  issues no tickets) offered on a new connection (TLS <= 1.2); a TLS 1.3 handshake (carried on
  an enumeration connection when one fits, :mod:`.ride13`), its tickets, and a ticket offered
  with 0-RTT announced, then offered again (:mod:`.session13`);
- **known vulnerabilities** unless turned off: Heartbleed and CCS injection (:mod:`.vulns`) and
  ROBOT when an RSA key exchange is accepted (:mod:`.robot`).

Each returns facts and a :class:`~.results.ProbeStatus`; what could not be decided says why.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import field

from .._dataclass import dataclass
from .._tasks import spawn
from . import session12, session13, tls12
from ._constants import Version
from ._probe_failure import EXPECTED, Failure, failure_of, status
from ._sightings import Sightings, robot_suite
from .connection import Dialer, Endpoint
from .messages import KeyExchange
from .results import (
    EarlyDataResult,
    ProbeStatus,
    RenegotiationResult,
    ResumptionResult,
    VulnerabilityResult,
)
from .ride13 import Ride13
from .suites import by_code, for_version
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
    """What the depth probes found on one target, probe by probe."""

    renegotiation: RenegotiationResult | None = None
    resumption: ResumptionResult | None = None
    early_data: EarlyDataResult | None = None
    vulnerabilities: list[VulnerabilityResult] = field(default_factory=list)
    probes: list[ProbeStatus] = field(default_factory=list)
    key_exchanges: list[KeyExchange | None] = field(default_factory=list)


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

    async def legacy_sessions(
        self, version: int, accepted: Awaitable[tuple[int, ...] | None]
    ) -> None:
        """One session for renegotiation, its ticket and its session ID (see the module doc).

        It starts as soon as the server is known to speak ``version``, offering every suite
        keywire completes; ``accepted`` (the server's suites, known later) tells a refusal
        from keywire's limit.
        """
        offer = tls12.client_suites([s.code for s in for_version(version)])
        if version < Version.TLS10:
            self._cannot(version, "SSL 3.0")
            return
        spec = tls12.full_hello_spec(version, offer, self.endpoint.server_name)
        wait = min(self.dialer.timeout, 3.0)
        first: tls12.Established | None = None
        failure: Failure | None = None
        by_ticket: asyncio.Future[tuple[bool | None, Failure | None]] | None = None
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
        except EXPECTED as exc:
            failure = failure_of(exc, self.dialer.timeout)
            if first is None and not tls12.client_suites(await accepted or ()):
                self._cannot(version, "any suite the server accepts")
                return
            if first is not None:
                failure = Failure(f"the session broke off: {failure.reason}", failure.limited)
            self.out.renegotiation = RenegotiationResult(version=version, reason=failure.reason)
        else:
            self.out.renegotiation = RenegotiationResult(
                version=version,
                attempts=RENEGOTIATIONS,
                honoured=run.honoured,
                refusal=run.refusal,
            )
        self.out.probes.append(status(RENEGOTIATION, [failure]))
        if first is None:
            assert failure is not None
            self.out.probes.append(status(RESUMPTION, [failure]))
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
        self.out.probes.append(status(RESUMPTION, [failure]))

    def _cannot(self, version: int, what: str) -> None:
        why = Failure(f"not tested: keywire cannot complete a handshake with {what}", True)
        self.out.renegotiation = RenegotiationResult(version=version, reason=why.reason)
        self.out.probes.append(status(RENEGOTIATION, [why]))
        self.out.probes.append(status(RESUMPTION, [why]))

    async def _resume(
        self, version: int, offer: tuple[int, ...], what: str, value: bytes
    ) -> tuple[bool | None, Failure | None]:
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
        except EXPECTED as exc:
            failure = failure_of(exc, self.dialer.timeout)
            return None, Failure(f"{what}: {failure.reason}", failure.limited)
        return answer.resumed, None

    # -- TLS 1.3 ---------------------------------------------------------------------------

    async def tls13(
        self, older_resumption: Awaitable[object] | None = None, ride: Ride13 | None = None
    ) -> None:
        """A TLS 1.3 session (the one ``ride`` carried, else one of its own) and its tickets; a
        ticket offered back when it allows early data, or when ``older_resumption`` (the best
        version before 1.3) turns out to be None: the only way then to tell whether tickets
        resume."""
        name = self.endpoint.server_name
        try:
            full = await ride.settle() if ride is not None else None
            if full is None:
                async with self.dialer.channel(self.endpoint) as channel:
                    full = await session13.full_handshake(channel, name)
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
        except EXPECTED as exc:
            failure = failure_of(exc, self.dialer.timeout)
            self.out.early_data = EarlyDataResult(reason=failure.reason)
            self.out.probes.append(status(EARLY_DATA, [failure]))
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
    ride13: Ride13 | None = None,
    sightings: Sightings | None = None,
) -> DepthResult:
    """Run the probes of the module docstring beside the enumeration: each starts once
    ``sightings`` shows the server speaks the version it needs (or, without them, once
    ``accepted``, version -> suites, is known).

    ``piggybacks`` are vulnerability probes the enumeration carries on its own TLS 1.2
    connections (until ``riders_settled``); whichever did not get a connection (or could not
    decide) then runs on its own. ``ride13`` is the TLS 1.3 session, if the enumeration
    carried one.
    """
    from .robot import robot
    from .vulns import ccs_injection, heartbleed

    quiet = min(dialer.timeout, QUIET)
    depth = _Depth(dialer, endpoint, quiet)
    not_legacy = "not applicable: the server offers no TLS 1.2 or older"

    async def speaks(version: int, *, rsa: bool = False) -> bool:
        if version not in accepted:
            return False
        if sightings is not None:
            return await sightings.future(version, rsa=rsa)
        found = await accepted[version] or ()
        return any(robot_suite(s) for s in found) if rsa else bool(found)

    async def best_legacy() -> int | None:
        for candidate in LEGACY:
            if await speaks(candidate):
                return int(candidate)
        return None

    legacy_task = spawn(best_legacy())

    async def sessions() -> None:
        legacy = await legacy_task
        if legacy is not None:
            await depth.legacy_sessions(legacy, accepted[legacy])
            return
        depth.out.renegotiation = RenegotiationResult(reason=not_legacy)
        depth.out.probes.append(ProbeStatus(name=RENEGOTIATION, completed=True, reason=not_legacy))

    async def modern() -> None:
        if await speaks(Version.TLS13):
            await depth.tls13(legacy_task, ride13)
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
        version = await legacy_task
        if version is None:
            depth.out.probes.extend(
                ProbeStatus(name=name, completed=True, reason=not_legacy) for name in names
            )
            return

        async def rsa_probe() -> list[VulnerabilityResult]:
            if await speaks(version, rsa=True):
                # Every RSA key exchange, GCM first: the server picks the same one each time.
                rsa = [s.code for s in for_version(version) if robot_suite(s.code)]
                rsa.sort(key=lambda code: not by_code(code).aead)
                return [await robot(dialer, endpoint, version, rsa, quiet=quiet)]
            depth.out.probes.append(
                ProbeStatus(
                    name="ROBOT",
                    completed=True,
                    reason="not applicable: no RSA key exchange is accepted",
                )
            )
            return []

        robot_task = spawn(rsa_probe())
        if riders_settled is not None:
            await riders_settled
        suites = await accepted[version] or ()
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
