"""TLS 1.3 handshakes carried to the end, session tickets, and resumption with 0-RTT offered.

Session resumption and early data can only be observed with a session: keywire completes one
full TLS 1.3 handshake (RFC 8446 §7 key schedule on :mod:`.tls13`'s primitives), sends its
Finished and a close_notify, and reads the NewSessionTickets the server sends before closing.
It then offers a ticket in a new hello (the pre_shared_key extension with its binder), with the
early_data extension when the ticket allows it, and reads the server's EncryptedExtensions:
the pre_shared_key in the ServerHello says the session resumed, early_data in the encrypted
extensions says the server would accept 0-RTT data. keywire never sends early data itself, nor
finishes the resumed handshake: the answer to the hello is the fact.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

from .._dataclass import dataclass
from ._constants import (
    ALERT,
    EXT_EARLY_DATA,
    EXT_PRE_SHARED_KEY,
    HANDSHAKE,
    HS_CERTIFICATE,
    HS_CERTIFICATE_REQUEST,
    HS_CERTIFICATE_VERIFY,
    HS_ENCRYPTED_EXTENSIONS,
    HS_FINISHED,
    HS_MESSAGE_HASH,
    HS_NEW_SESSION_TICKET,
    HS_SERVER_HELLO,
    Version,
    group_label,
)
from ._schedule13 import (
    Closed,
    _Cipher,
    _derive,
    _early_secret,
    _finished,
    _hash,
    _Link,
    _next_secret,
)
from ._wire import DecodeError, Reader, u8, u24, vec8, vec16
from .connection import Channel
from .hello import HelloSpec, client_hello
from .messages import ServerHello, parse_certificate, parse_server_hello
from .records import Handshake
from .tls13 import _SUITES, KEY_SHARE_GROUPS, KeyShare, hkdf_expand_label

__all__ = [
    "SUITES",
    "Closed",
    "FullHandshake",
    "ResumeAnswer",
    "Ticket",
    "Unsupported",
    "continue_handshake",
    "full_handshake",
    "offer_ticket",
]

SUITES = tuple(_SUITES)
MAX_TICKETS = 4


class Unsupported(Exception):
    """The server chose something keywire cannot compute (a group or suite)."""


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """A NewSessionTicket and the secret to resume with it."""

    suite: int
    group: int
    lifetime: int
    age_add: int
    ticket: bytes
    psk: bytes
    max_early_data: int | None
    received_at: float


@dataclass(frozen=True, kw_only=True)
class FullHandshake:
    """A completed TLS 1.3 handshake: suite, group, tickets and the certificates."""

    suite: int
    group: int
    tickets: tuple[Ticket, ...]
    certificates: tuple[bytes, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ResumeAnswer:
    """How the server answered a hello offering a ticket (and perhaps early data)."""

    resumed: bool
    early_data_accepted: bool


def _spec(
    server_name: str | None,
    suites: tuple[int, ...],
    shares: dict[int, KeyShare],
    *,
    random: bytes,
    session_id: bytes,
    cookie: bytes = b"",
    early_data: bool = False,
    pre_shared_key: bytes = b"",
) -> HelloSpec:
    return HelloSpec(
        version=Version.TLS13,
        suites=suites,
        server_name=server_name,
        groups=KEY_SHARE_GROUPS,
        key_shares=tuple((g, s.public) for g, s in shares.items()),
        alpn=("http/1.1",),
        status_request=False,
        random=random,
        session_id=session_id,
        cookie=cookie,
        early_data=early_data,
        pre_shared_key=pre_shared_key,
    )


async def _server_hello(link: _Link) -> tuple[ServerHello, Handshake]:
    message = await link.message()
    if message.msg_type != HS_SERVER_HELLO:
        raise DecodeError(f"expected a ServerHello, got handshake message {message.msg_type}")
    hello = parse_server_hello(message.body)
    if hello.version != Version.TLS13:
        raise Unsupported("the server did not negotiate TLS 1.3")
    return hello, message


async def full_handshake(
    channel: Channel, server_name: str | None, suites: tuple[int, ...] = SUITES
) -> FullHandshake:
    """Complete a TLS 1.3 handshake and collect the tickets the server issues."""
    link = _Link(channel)
    # One share (X25519, which nearly every server takes); others get a HelloRetryRequest.
    shares = {g: KeyShare(g) for g in KEY_SHARE_GROUPS[:1]}
    random, session_id = os.urandom(32), os.urandom(32)
    first = client_hello(_spec(server_name, suites, shares, random=random, session_id=session_id))
    link.send_plain(first)
    hello, message = await _server_hello(link)
    transcript = first + message.raw
    if hello.retry_request:
        group = hello.key_share_group
        if group is None or group not in KEY_SHARE_GROUPS or group in shares:
            name = group_label(group) if group is not None else "no group"
            raise Unsupported(f"the server asked for a key share for {name}")
        if hello.cipher_suite not in _SUITES:
            raise Unsupported(f"the server chose suite 0x{hello.cipher_suite:04x}")
        digest = hashlib.new(_hash(hello.cipher_suite), first).digest()
        transcript = u8(HS_MESSAGE_HASH) + u24(len(digest)) + digest + message.raw
        shares = {group: KeyShare(group)}
        second = client_hello(
            _spec(
                server_name,
                suites,
                shares,
                random=random,
                session_id=session_id,
                cookie=hello.cookie,
            )
        )
        link.send_plain(second, Version.TLS12)
        transcript += second
        hello, message = await _server_hello(link)
        if hello.retry_request:
            raise DecodeError("a second HelloRetryRequest")
        transcript += message.raw
    return await _complete(link, transcript, hello, shares)


async def continue_handshake(
    channel: Channel,
    client_hello: bytes,
    hello: ServerHello,
    server_hello: bytes,
    share: KeyShare,
    pending: bytes,
    *,
    quiet: float,
) -> FullHandshake:
    """Complete a handshake another probe started: it sent ``client_hello`` (with ``share``)
    and read ``server_hello`` (a ServerHello, not a HelloRetryRequest) and ``pending`` (the
    bytes after it, up to where it stopped reading).

    Tickets are awaited ``quiet`` seconds at most each: that probe waits for this one.
    """
    link = _Link(channel)
    link.pending(pending)
    shares = {share.group: share}
    return await _complete(link, client_hello + server_hello, hello, shares, quiet=quiet)


async def _complete(
    link: _Link,
    transcript: bytes,
    hello: ServerHello,
    shares: dict[int, KeyShare],
    *,
    quiet: float | None = None,
) -> FullHandshake:
    """From the ServerHello (``transcript`` ends with it) to the tickets (each awaited
    ``quiet`` seconds at most, or until the server closes)."""
    suite = hello.cipher_suite
    if suite not in _SUITES:
        raise Unsupported(f"the server chose suite 0x{suite:04x}")
    share = shares.get(hello.key_share_group or -1)
    if share is None:
        raise DecodeError("the server's key share is for a group keywire did not offer")
    handshake_secret = _next_secret(
        suite, _early_secret(suite, None), share.shared(hello.key_share)
    )
    client_hs = _derive(suite, handshake_secret, b"c hs traffic", transcript)
    server_hs = _derive(suite, handshake_secret, b"s hs traffic", transcript)
    link.read = _Cipher(suite, server_hs)
    certificates: tuple[bytes, ...] = ()
    requested = False
    for _ in range(8):
        message = await link.message()
        if message.msg_type == HS_FINISHED:
            if message.body != _finished(suite, server_hs, transcript):
                raise DecodeError("the server's Finished did not verify")
            transcript += message.raw
            break
        transcript += message.raw
        if message.msg_type == HS_CERTIFICATE:
            certificates = parse_certificate(message.body, tls13=True).certificates
        elif message.msg_type == HS_CERTIFICATE_REQUEST:
            requested = True
        elif message.msg_type not in (HS_ENCRYPTED_EXTENSIONS, HS_CERTIFICATE_VERIFY):
            raise DecodeError(f"unexpected handshake message {message.msg_type}")
    else:
        raise DecodeError("the server's flight did not end with a Finished")
    master = _next_secret(suite, handshake_secret, None)
    client_ap = _derive(suite, master, b"c ap traffic", transcript)
    server_ap = _derive(suite, master, b"s ap traffic", transcript)
    link.write = _Cipher(suite, client_hs)
    if requested:
        empty = u8(HS_CERTIFICATE) + u24(4) + vec8(b"") + u24(0)
        link.send(HANDSHAKE, empty)
        transcript += empty
    finished = _finished(suite, client_hs, transcript)
    message_bytes = u8(HS_FINISHED) + u24(len(finished)) + finished
    link.send(HANDSHAKE, message_bytes)
    transcript += message_bytes
    resumption = _derive(suite, master, b"res master", transcript)
    link.write = _Cipher(suite, client_ap)
    link.read = _Cipher(suite, server_ap)
    # close_notify: the server sends its tickets, then reads this and closes. No data is sent.
    link.send(ALERT, bytes([1, 0]))
    tickets: list[Ticket] = []
    while len(tickets) < MAX_TICKETS:
        try:
            message = await asyncio.wait_for(link.message(), quiet)
        except asyncio.TimeoutError:
            if quiet is None:
                raise
            break
        except (Closed, OSError) as exc:
            if requested and not tickets:
                # It asked for a client certificate and got none: keywire's limit.
                raise Unsupported("the server requires a client certificate") from exc
            break
        if message.msg_type == HS_NEW_SESSION_TICKET:
            tickets.append(_ticket(suite, share.group, resumption, message.body))
    return FullHandshake(
        suite=suite, group=share.group, tickets=tuple(tickets), certificates=certificates
    )


def _ticket(suite: int, group: int, resumption: bytes, body: bytes) -> Ticket:
    reader = Reader(body, "NewSessionTicket")
    lifetime = reader.uint(4)
    age_add = reader.uint(4)
    nonce = reader.vec8()
    ticket = reader.vec16()
    extensions = Reader(reader.vec16(), "NewSessionTicket extensions")
    reader.done()
    if not ticket:
        raise DecodeError("NewSessionTicket: empty ticket")
    max_early: int | None = None
    while extensions.remaining:
        kind = extensions.u16()
        data = Reader(extensions.vec16(), f"NewSessionTicket extension {kind}")
        if kind == EXT_EARLY_DATA:
            max_early = data.uint(4)
            data.done()
    name = _hash(suite)
    psk = hkdf_expand_label(name, resumption, b"resumption", nonce, hashlib.new(name).digest_size)
    return Ticket(
        suite=suite,
        group=group,
        lifetime=lifetime,
        age_add=age_add,
        ticket=ticket,
        psk=psk,
        max_early_data=max_early,
        received_at=time.monotonic(),
    )


async def offer_ticket(
    channel: Channel, server_name: str | None, ticket: Ticket, *, early_data: bool
) -> ResumeAnswer:
    """Offer ``ticket`` (and announce early data); read the answer up to EncryptedExtensions."""
    link = _Link(channel)
    suite = ticket.suite
    name = _hash(suite)
    size = hashlib.new(name).digest_size
    shares = {ticket.group: KeyShare(ticket.group)}
    age_ms = int((time.monotonic() - ticket.received_at) * 1000)
    obfuscated = (age_ms + ticket.age_add) % (1 << 32)
    identities = vec16(vec16(ticket.ticket) + obfuscated.to_bytes(4, "big"))
    binders = vec16(vec8(bytes(size)))
    spec = _spec(
        server_name,
        (suite,),
        shares,
        random=os.urandom(32),
        session_id=os.urandom(32),
        early_data=early_data,
        pre_shared_key=identities + binders,
    )
    hello = client_hello(spec)
    truncated = hello[: len(hello) - len(binders)]
    early = _early_secret(suite, ticket.psk)
    binder_key = _derive(suite, early, b"res binder", b"")
    binder = _finished(suite, binder_key, truncated)
    hello = truncated + vec16(vec8(binder))
    link.send_plain(hello)
    server_hello, message = await _server_hello(link)
    if server_hello.retry_request:
        # The ticket's group was refused: the server does not resume with it as offered.
        return ResumeAnswer(resumed=False, early_data_accepted=False)
    resumed = EXT_PRE_SHARED_KEY in server_hello.extension_types
    if server_hello.cipher_suite != suite:
        raise DecodeError("the server chose a suite that was not offered")
    share = shares.get(server_hello.key_share_group or -1)
    if share is None:
        raise DecodeError("the server's key share is for a group keywire did not offer")
    transcript = hello + message.raw
    secret = _early_secret(suite, ticket.psk if resumed else None)
    handshake_secret = _next_secret(suite, secret, share.shared(server_hello.key_share))
    link.read = _Cipher(suite, _derive(suite, handshake_secret, b"s hs traffic", transcript))
    message = await link.message()
    if message.msg_type != HS_ENCRYPTED_EXTENSIONS:
        raise DecodeError(f"expected EncryptedExtensions, got handshake message {message.msg_type}")
    return ResumeAnswer(
        resumed=resumed, early_data_accepted=EXT_EARLY_DATA in _extension_types(message.body)
    )


def _extension_types(body: bytes) -> tuple[int, ...]:
    reader = Reader(body, "EncryptedExtensions")
    block = Reader(reader.vec16(), "EncryptedExtensions extensions")
    reader.done()
    kinds = []
    while block.remaining:
        kinds.append(block.u16())
        block.vec16()
    return tuple(kinds)
