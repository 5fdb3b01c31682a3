"""One TLS connection attempt: connect, send a hello, read the server's first flight, hang up.

Every attempt holds one of the target host's connection slots (shared with the HTTP probes),
has a deadline for the whole exchange and a byte budget, and ends in an :class:`Answer` value:
never an exception. keywire never completes these handshakes; it reads what the server sends
in answer to its hello and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import field

from .._dataclass import dataclass
from ._constants import (
    ALERT,
    APPLICATION_DATA,
    HANDSHAKE,
    HS_CERTIFICATE,
    HS_CERTIFICATE_STATUS,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    Version,
    alert_label,
)
from ._wire import DecodeError
from .messages import (
    KeyExchange,
    ServerHello,
    Ssl2ServerHello,
    parse_certificate,
    parse_certificate_status,
    parse_server_hello,
    parse_server_key_exchange,
    parse_ssl2_server_hello,
)
from .records import Handshake, HandshakeAssembler, Record, RecordStream, parse_alert
from .suites import by_code

DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # one flight: a 1 MiB certificate message and the rest
READ_CHUNK = 65536


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """Where to connect: ``host`` names the slot and the SNI, ``address`` is what we dial."""

    host: str
    address: str
    port: int
    server_name: str | None = None


SlotFactory = Callable[[str], AbstractAsyncContextManager[None]]
#: A probe carried on after a TLS 1.3 ServerHello: (channel, hello, its bytes, the bytes read
#: after it: whole records and the start of the next one).
After13 = Callable[["Channel", ServerHello, bytes, bytes], Awaitable[None]]


@contextlib.asynccontextmanager
async def no_slot(host: str) -> AsyncIterator[None]:
    yield


@dataclass
class Dialer:
    """Opens connections within the per-host cap, with a deadline; counts what it does."""

    slot: SlotFactory = no_slot
    timeout: float = 10.0
    max_bytes: int = DEFAULT_MAX_BYTES
    connections: int = field(default=0)
    connected: int = field(default=0)

    connect_error: str = field(default="")
    #: Resolved once the first connection attempt is decided (connected, or failed).
    _first: asyncio.Future[None] | None = field(default=None, init=False, repr=False)

    async def first_decided(self) -> None:
        """Return once the first connection attempt (if any) has connected or failed."""
        if self._first is not None and not self._first.done():
            await asyncio.shield(self._first)

    @contextlib.asynccontextmanager
    async def channel(self, endpoint: Endpoint) -> AsyncIterator[Channel]:
        """A connected channel, holding a slot for as long as it is open.

        Raises :class:`ConnectFailed` when the connection cannot be made. After one such failure
        the dialer fails every later attempt at once: an endpoint that refuses or drops
        connections is reported once, not waited for a hundred times. Attempts that start while
        the first one is connecting wait for it: one attempt for a port with nothing listening.
        """
        if self.connect_error:
            raise ConnectFailed(self.connect_error)
        leading = self._first is None
        first = self._first = self._first or asyncio.get_running_loop().create_future()
        if not leading and not first.done():
            await asyncio.shield(first)
            if self.connect_error:
                raise ConnectFailed(self.connect_error)
        try:
            async with self.slot(endpoint.host):
                if self.connect_error:
                    raise ConnectFailed(self.connect_error)
                deadline = time.monotonic() + self.timeout
                self.connections += 1
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(endpoint.address, endpoint.port), self.timeout
                    )
                except asyncio.TimeoutError:
                    self.connect_error = f"connect timed out after {self.timeout:g}s"
                    raise ConnectFailed(self.connect_error) from None
                except ConnectionRefusedError:
                    self.connect_error = "connection refused"
                    raise ConnectFailed(self.connect_error) from None
                except OSError as exc:
                    self.connect_error = f"cannot connect: {exc.strerror or exc}"
                    raise ConnectFailed(self.connect_error) from None
                self.connected += 1
                if leading and not first.done():
                    first.set_result(None)
                channel = Channel(reader, writer, deadline, self.max_bytes)
                try:
                    yield channel
                finally:
                    writer.transport.abort()
        finally:
            if leading and not first.done():  # failed, or cancelled before it was decided
                first.set_result(None)


async def first_reachable(
    addresses: Sequence[str], port: int, *, timeout: float, slot: AbstractAsyncContextManager[None]
) -> str | None:
    """The first of ``addresses`` that accepts a TCP connection on ``port`` (None: none does).

    Only worth a connection when a name has several addresses (IPv6 first, say, without a
    route): the scan then talks to one that answers.
    """
    async with slot:
        for address in addresses[:4]:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
            except (OSError, asyncio.TimeoutError):
                continue
            writer.transport.abort()
            return address
    return None


class ConnectFailed(Exception):
    """The TCP connection could not be made."""


class Channel:
    """A connected socket with a deadline and a byte budget."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        max_bytes: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._deadline = deadline
        self._budget = max_bytes
        self._reset: OSError | None = None

    def send(self, data: bytes) -> None:
        self._writer.write(data)

    async def recv(self) -> bytes:
        """The next bytes from the server; b"" at end of stream.

        Raises asyncio.TimeoutError past the deadline, DecodeError past the byte budget.
        """
        if self._reset is not None:
            raise self._reset
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise asyncio.TimeoutError
        try:
            data = await asyncio.wait_for(self._reader.read(READ_CHUNK), remaining)
        except (ConnectionResetError, BrokenPipeError) as exc:
            # asyncio raises a reset before handing over what arrived before it (a server's
            # last alert, typically): return those bytes first, the reset on the next read.
            buffered = bytes(getattr(self._reader, "_buffer", b""))
            if not buffered:
                raise
            self._reset = exc
            data = buffered
        self._budget -= len(data)
        if self._budget < 0:
            raise DecodeError("the server sent more than keywire reads from one handshake")
        return data


class Status(enum.Enum):
    """How a hello was answered."""

    HELLO = "hello"  # a ServerHello (or SSLv2 SERVER-HELLO) arrived
    REJECTED = "rejected"  # an alert, or the server closed without a ServerHello
    FAILED = "failed"  # no verdict: connect error, timeout, malformed answer


class Mode(enum.Enum):
    """How far to read: the whole TLS <= 1.2 flight, just the ServerHello, or SSL 2.0."""

    FLIGHT = "flight"
    HELLO_ONLY = "hello_only"
    SSL2 = "ssl2"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What the server sent back to one hello."""

    status: Status
    reason: str = ""
    server_hello: ServerHello | None = None
    ssl2: Ssl2ServerHello | None = None
    certificates: tuple[bytes, ...] = ()
    key_exchange: KeyExchange | None = None
    ocsp_response: bytes = b""
    alert: int | None = None
    complete: bool = False
    connect_failed: bool = False

    @property
    def picked(self) -> int | None:
        return self.server_hello.cipher_suite if self.server_hello is not None else None

    @property
    def version(self) -> int | None:
        if self.ssl2 is not None:
            return Version.SSL2
        return self.server_hello.version if self.server_hello is not None else None


class _Flight:
    """Accumulates the messages of one server flight."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.stream = RecordStream(allow_ssl2=mode is Mode.SSL2)
        self.assembler = HandshakeAssembler()
        self.hello: ServerHello | None = None
        self.ssl2: Ssl2ServerHello | None = None
        self.certificates: tuple[bytes, ...] = ()
        self.key_exchange: KeyExchange | None = None
        self.ocsp = b""
        self.alert: int | None = None
        self.done = False
        self.complete = False
        #: The ServerHello as sent, and the bytes read after it once done (what a TLS 1.3
        #: rider needs to carry the handshake on).
        self.hello_raw = b""
        self.rest = b""

    def feed(self, data: bytes) -> None:
        self.stream.feed(data)
        records = self.stream.records()
        for index, record in enumerate(records):
            if not isinstance(record, Record):
                self.ssl2 = parse_ssl2_server_hello(record.body)
                self.done = self.complete = True
                return
            self._record(record)
            if self.done:
                after = (r for r in records[index + 1 :] if isinstance(r, Record))
                self.rest = b"".join(r.header + r.payload for r in after) + self.stream.unread()
                return

    def _record(self, record: Record) -> None:
        if record.content_type == ALERT:
            alert = parse_alert(record.payload)
            if alert.fatal or alert.description == 0:
                self.alert = alert.description
                self.done = True
        elif record.content_type == HANDSHAKE:
            for message in self.assembler.feed(record.payload):
                self._handshake(message)
                if self.done:
                    return
        elif record.content_type == APPLICATION_DATA and self.hello is None:
            raise DecodeError("application data before the ServerHello")

    def _handshake(self, message: Handshake) -> None:
        if self.hello is None:
            if message.msg_type != HS_SERVER_HELLO:
                raise DecodeError(f"handshake message {message.msg_type} before the ServerHello")
            self.hello = parse_server_hello(message.body)
            self.hello_raw = message.raw
            if (
                self.mode is not Mode.FLIGHT
                or self.hello.version >= Version.TLS13
                or self.hello.retry_request
            ):
                self.done = self.complete = True
            return
        if message.msg_type == HS_CERTIFICATE:
            self.certificates = parse_certificate(message.body, tls13=False).certificates
        elif message.msg_type == HS_SERVER_KEY_EXCHANGE:
            suite = by_code(self.hello.cipher_suite)
            self.key_exchange = parse_server_key_exchange(message.body, suite)
        elif message.msg_type == HS_CERTIFICATE_STATUS:
            self.ocsp = parse_certificate_status(message.body)
        elif message.msg_type == HS_SERVER_HELLO_DONE:
            self.done = self.complete = True

    def answer(self, status: Status, reason: str = "") -> Answer:
        # A ServerHello makes the answer a HELLO (possibly incomplete), unless the rest of the
        # flight was malformed or never came: then nothing about it is trusted.
        if status is not Status.FAILED and (self.hello is not None or self.ssl2 is not None):
            status = Status.HELLO
        return Answer(
            status=status,
            reason=reason,
            server_hello=self.hello,
            ssl2=self.ssl2,
            certificates=self.certificates,
            key_exchange=self.key_exchange,
            ocsp_response=self.ocsp,
            alert=self.alert,
            complete=self.complete,
        )


async def exchange(
    dialer: Dialer,
    endpoint: Endpoint,
    hello: bytes,
    mode: Mode,
    *,
    after: Callable[[Channel, int], Awaitable[None]] | None = None,
    after13: After13 | None = None,
) -> Answer:
    """Send ``hello`` on a new connection and read the answer (see the module docstring).

    ``after`` runs on the same connection once a TLS <= 1.2 flight is complete, before keywire
    hangs up (with the negotiated version): a probe that needs a flight reuses this one.
    ``after13`` likewise after a TLS 1.3 ServerHello (not a HelloRetryRequest), with that
    message and the bytes that came after it.
    """
    flight = _Flight(mode)
    try:
        async with dialer.channel(endpoint) as channel:
            channel.send(hello)
            while not flight.done:
                data = await channel.recv()
                if not data:
                    reason = "the server closed the connection"
                    if flight.hello is not None:
                        reason += " before finishing its flight"
                    return flight.answer(Status.REJECTED, reason)
                flight.feed(data)
            hello_in = flight.hello
            if (
                after is not None
                and flight.complete
                and hello_in is not None
                and hello_in.version < Version.TLS13
                and flight.alert is None
            ):
                await after(channel, hello_in.version)
            if (
                after13 is not None
                and hello_in is not None
                and hello_in.version == Version.TLS13
                and not hello_in.retry_request
                and flight.alert is None
                and not flight.assembler.pending
            ):
                await after13(channel, hello_in, flight.hello_raw, flight.rest)
    except DecodeError as exc:
        return flight.answer(Status.FAILED, f"malformed answer: {exc}")
    except asyncio.TimeoutError:
        return flight.answer(Status.FAILED, f"no complete answer within {dialer.timeout:g}s")
    except ConnectFailed as exc:
        return Answer(status=Status.FAILED, reason=str(exc), connect_failed=True)
    except OSError as exc:
        # A reset or broken pipe after our hello is how many servers say no.
        return flight.answer(Status.REJECTED, f"the server reset the connection ({exc})")
    if flight.alert is not None and flight.hello is None and flight.ssl2 is None:
        return flight.answer(Status.REJECTED, f"alert {alert_label(flight.alert)}")
    return flight.answer(Status.HELLO)
