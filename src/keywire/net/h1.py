"""HTTP/1.1 on asyncio transports, with the sans-IO ``h11`` parser: keywire's own thin client.

keywire needs little of a general HTTP client: one request at a time per connection, raw header
bytes as received, bodies read up to a cap, no redirects, no cookies, no proxies, no HTTP/2. What it
does need is cheap per request (a scan sends dozens per target, thousands per fleet) and exact about
*what* failed: a port that never answered, a server that took the TCP connection and then stalled
the TLS handshake, a certificate that did not verify, a malformed response. So this module opens
connections itself (names resolved by keywire's resolver, TCP first, then TLS over it with
``loop.start_tls``), lets ``h11`` (the parser httpx builds on) read and write HTTP/1.1, and keeps
idle connections per origin, so finding one costs a dictionary lookup whatever else is pooled.
One exchange on such a connection is :mod:`keywire.net.exchange`.

Exceptions, all subclasses of :class:`HttpError` (:func:`keywire.net.failures.classify` turns them
into failure kinds)::

    HttpError
    ├── ConnectFailed          TCP connect failed (the OSError is the cause)
    ├── ConnectTimeout         TCP connect did not complete in time
    ├── TlsHandshakeStalled    TCP connected, the TLS handshake did not complete in time
    ├── TlsHandshakeFailed     TCP connected, the server broke off the handshake
    ├── ReadTimeout            no bytes from the server within the read timeout
    ├── ServerDisconnected     the connection closed before a complete response head
    ├── ConnectionReset        the connection broke (reset, a TLS error) while reading
    ├── MalformedResponse      h11 could not parse the response (its message is the reason)
    └── InvalidUrl             no request can be made of the URL (a bad port, no host)

A certificate that does not verify raises :class:`ssl.SSLCertVerificationError` as is, and another
TLS alert :class:`ssl.SSLError`: the TLS library's own verdict is the reason.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import Sequence

import h11

from .._dataclass import dataclass

#: Response head bytes h11 accepts (its default, which httpx used too): endless headers end here.
MAX_HEAD_BYTES = 16 * 1024
#: Idle connections kept per origin, and for how long.
MAX_IDLE_PER_ORIGIN = 5
#: Idle connections kept in all (the oldest are closed first).
MAX_IDLE = 64
KEEPALIVE_S = 5.0
#: Bytes buffered from a connection before keywire stops reading from the socket.
_HIGH_WATER = 1024 * 1024


class HttpError(Exception):
    """Something went wrong on the wire (see the module docstring for the tree)."""


class ConnectFailed(HttpError):
    pass


class ConnectTimeout(HttpError):
    pass


class TlsHandshakeStalled(HttpError):
    """The TCP connection was made, but the TLS handshake did not complete in time."""


class TlsHandshakeFailed(HttpError):
    """The TCP connection was made, but the server broke off the TLS handshake."""


class ReadTimeout(HttpError):
    pass


class ServerDisconnected(HttpError):
    pass


class ConnectionReset(HttpError):
    pass


class MalformedResponse(HttpError):
    pass


class InvalidUrl(HttpError):
    """A URL keywire cannot send a request to (no host, a bad port, an unknown scheme)."""


class _Stream(asyncio.Protocol):
    """The bytes a connection received, handed out by :meth:`read` (one reader at a time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self.closed = False
        self.error: Exception | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def pending(self) -> bool:
        """Whether bytes arrived that nobody has read yet."""
        return bool(self._buffer)

    async def read(self, timeout: float) -> bytes:
        """What arrived since the last read; ``b""`` once the peer closed and all was read."""
        if not self._buffer and not self.closed:
            waiter = self._waiter = self._loop.create_future()
            timer = self._loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        if not self._buffer and self.error is not None:
            raise ConnectionReset("connection reset by the server") from self.error
        data = bytes(self._buffer)
        self._buffer.clear()
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()
        return data


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(ReadTimeout("read timed out"))


@dataclass(frozen=True)
class Request:
    """One request as it goes on the wire (``headers`` in order, ``Host`` first)."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    content: bytes | None = None


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    verify: bool


class Connection:
    """One HTTP/1.1 connection: a transport, what it received, and h11's view of the exchange."""

    def __init__(self, transport: asyncio.Transport, stream: _Stream) -> None:
        self.transport = transport
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle_since = 0.0
        self.reused = False

    @property
    def alive(self) -> bool:
        return not self.stream.closed and not self.transport.is_closing()

    def ssl_object(self) -> ssl.SSLObject | None:
        found = self.transport.get_extra_info("ssl_object")
        return found if isinstance(found, ssl.SSLObject) else None

    def close(self) -> None:
        # abort, not close: nothing keywire could still send matters, and a server that stopped
        # reading must not keep the socket (or the scan) alive.
        self.transport.abort()

    def send(self, request: Request) -> None:
        try:
            data = self.h11.send(
                h11.Request(method=request.method, target=request.target, headers=request.headers)
            )
            data = data or b""
            if request.content:
                data += self.h11.send(h11.Data(data=request.content)) or b""
            data += self.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise MalformedResponse(f"cannot send this request: {exc}") from exc
        self.transport.write(data)

    async def next_event(self, timeout: float) -> object:
        """The next h11 event of the response, reading from the wire as needed."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise MalformedResponse(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            data = await self.stream.read(timeout)
            if not data and self.h11.their_state is h11.SEND_RESPONSE:
                raise ServerDisconnected("server closed the connection without a response")
            try:
                self.h11.receive_data(data)
            except h11.RemoteProtocolError as exc:
                raise MalformedResponse(str(exc)) from exc

    def reusable(self) -> bool:
        """After a complete exchange: can the next request use this connection?

        Not if the server sent more than the response (a body after a HEAD, a second response):
        the next request must read its own answer, not one sent before it was asked.
        """
        if not (self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE):
            return False
        if not self.alive or self.stream.pending or self.h11.trailing_data[0]:
            return False
        self.h11.start_next_cycle()
        return True


async def open_connection(
    addresses: Sequence[str],
    port: int,
    *,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None,
    timeout: float,
) -> Connection:
    """TCP to the first address that accepts, then TLS over it when ``ssl_context`` is given."""
    loop = asyncio.get_running_loop()
    last: HttpError | None = None
    for address in addresses:
        try:
            transport, stream = await asyncio.wait_for(
                loop.create_connection(lambda: _Stream(loop), address, port), timeout
            )
        except asyncio.TimeoutError:
            last = ConnectTimeout("connect timed out")
            continue
        except OSError as exc:
            failure = ConnectFailed(str(exc) or type(exc).__name__)
            failure.__cause__ = exc
            last = failure
            continue
        assert isinstance(transport, asyncio.Transport)
        if ssl_context is None:
            return Connection(transport, stream)
        return await _start_tls(loop, transport, stream, ssl_context, server_hostname, timeout)
    assert last is not None
    raise last


async def _start_tls(
    loop: asyncio.AbstractEventLoop,
    transport: asyncio.Transport,
    stream: _Stream,
    context: ssl.SSLContext,
    server_hostname: str | None,
    timeout: float,
) -> Connection:
    try:
        tls = await asyncio.wait_for(
            loop.start_tls(
                transport,
                stream,
                context,
                server_hostname=server_hostname,
                ssl_handshake_timeout=timeout + 1,
            ),
            timeout,
        )
    except asyncio.TimeoutError:
        transport.abort()
        raise TlsHandshakeStalled(
            "the server accepted the connection, but the TLS handshake did not complete "
            f"within {timeout:g}s"
        ) from None
    except ssl.SSLError:
        transport.abort()
        raise  # the TLS library's own verdict (a certificate, an alert): keep it
    except (OSError, EOFError) as exc:
        transport.abort()
        detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise TlsHandshakeFailed(
            f"the server accepted the connection, then broke off the TLS handshake ({detail})"
        ) from exc
    if tls is None:  # the connection closed during the handshake
        transport.abort()
        raise TlsHandshakeFailed(
            "the server accepted the connection, then broke off the TLS handshake"
        )
    assert isinstance(tls, asyncio.Transport)
    stream.transport = tls
    return Connection(tls, stream)


class Pool:
    """Idle keep-alive connections per :class:`Origin` (at most :data:`MAX_IDLE_PER_ORIGIN`),
    and at most :data:`MAX_IDLE` in all: a fleet reaches thousands of origins once each, and
    their idle connections must not pile up (sockets, TLS state) until the scan ends."""

    def __init__(self) -> None:
        self._idle: dict[Origin, list[Connection]] = {}
        #: Every idle connection, oldest first (for the cap in all).
        self._order: collections.OrderedDict[int, tuple[Origin, Connection]] = (
            collections.OrderedDict()
        )

    def take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._order.pop(id(connection), None)
            if connection.alive and now - connection.idle_since < KEEPALIVE_S:
                connection.reused = True
                return connection
            connection.close()
        self._idle.pop(origin, None)
        return None

    def give_back(self, origin: Origin, connection: Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)
        self._order[id(connection)] = (origin, connection)
        while len(self._order) > MAX_IDLE:
            _, (old_origin, oldest) = self._order.popitem(last=False)
            self._drop(old_origin, oldest)

    def _drop(self, origin: Origin, connection: Connection) -> None:
        idle = self._idle.get(origin)
        if idle is not None and connection in idle:
            idle.remove(connection)
            if not idle:
                del self._idle[origin]
        with contextlib.suppress(Exception):
            connection.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                with contextlib.suppress(Exception):
                    connection.close()
        self._idle.clear()
        self._order.clear()
