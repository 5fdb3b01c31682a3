"""After a TLS 1.0-1.2 handshake: offering its session back, renegotiating, closing cleanly.

:func:`offer_session` sends a hello carrying a session ID or a ticket and reads only as far as
the server's answer shows whether it resumes; :func:`renegotiate` starts renegotiations inside an
established session (:func:`keywire.tls.tls12.handshake` again, over the session's keys).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import field, replace

from .._dataclass import dataclass
from ._constants import ALERT, HANDSHAKE, HS_NEW_SESSION_TICKET, HS_SERVER_HELLO, alert_label
from ._link12 import ALERT_CLOSE_NOTIFY, Link, Refused
from ._record12 import Protection
from ._wire import DecodeError, u8, u16, vec16
from .connection import Channel
from .hello import HelloSpec, client_hello, record_version
from .messages import ServerHello, parse_server_hello
from .tls12 import Established, handshake


@dataclass(frozen=True, kw_only=True)
class Resumed:
    """How the server answered a hello that offered a previous session."""

    resumed: bool
    server_hello: ServerHello


async def offer_session(channel: Channel, spec: HelloSpec) -> Resumed:
    """Send ``spec`` (carrying a session ID or ticket) and read how the server starts.

    The server resumes when it echoes the session ID and goes on with NewSessionTicket or
    ChangeCipherSpec instead of a Certificate (RFC 5246 §7.3, RFC 5077 §3.4). keywire stops
    there: the abbreviated handshake proves resumption without being finished.
    """
    link = Link(channel)
    hello = client_hello(spec)
    channel.send(u8(HANDSHAKE) + u16(record_version(spec.version)) + vec16(hello))
    message = await link.message(during="in answer to the ClientHello")
    if message.msg_type != HS_SERVER_HELLO:
        raise DecodeError(f"expected a ServerHello, got handshake message {message.msg_type}")
    server_hello = parse_server_hello(message.body)
    echoed = bool(spec.session_id) and server_hello.session_id == spec.session_id
    # What follows the ServerHello: a resumed session skips the certificate and key exchange.
    link.pending_read = Protection()  # a CCS here only tells us the handshake is abbreviated
    while True:
        event = await link.event()
        if event.kind == "ccs":
            return Resumed(resumed=echoed, server_hello=server_hello)
        if event.kind == "alert":
            raise Refused(f"alert {alert_label(event.alert)} after the ServerHello")
        if event.kind == "handshake" and event.message is not None:
            kind = event.message.msg_type
            if kind == HS_NEW_SESSION_TICKET:
                continue
            return Resumed(resumed=False, server_hello=server_hello)


async def close(link: Link, *, wait: float) -> None:
    """Send close_notify and give the server ``wait`` seconds to close its side (or answer)."""
    link.send(ALERT, bytes([1, ALERT_CLOSE_NOTIFY]))
    try:
        for _ in range(4):
            event = await asyncio.wait_for(link.event(), wait)
            if event.kind == "alert":
                return
    except (Refused, DecodeError, asyncio.TimeoutError, OSError):
        return


@dataclass
class RenegotiationRun:
    """What happened to the renegotiations keywire started on one session."""

    honoured: int = 0
    refusal: str = ""
    sessions: list[Established] = field(default_factory=list)


async def renegotiate(
    link: Link, first: Established, spec: HelloSpec, attempts: int, *, wait: float
) -> RenegotiationRun:
    """Start up to ``attempts`` renegotiations in a row on ``link``; stop at the first refusal.

    Each renegotiation is a complete handshake inside the previous one (so that the next can be
    asked). Silence for ``wait`` seconds counts as a refusal: some servers (Netty) just ignore
    the hello.
    """
    run = RenegotiationRun()
    current = first
    for _ in range(attempts):
        again = replace(
            spec,
            renegotiation_info=current.client_verify if current.secure_renegotiation else b"",
            random=os.urandom(32),
            session_ticket=None,
            session_id=b"",
        )
        try:
            current = await asyncio.wait_for(handshake(link, again, previous=current), wait)
        except Refused as exc:
            run.refusal = exc.reason
            return run
        except asyncio.TimeoutError:
            run.refusal = f"no answer within {wait:g}s"
            return run
        run.honoured += 1
        run.sessions.append(current)
    return run
