"""One HTTP/1.1 exchange on a :mod:`keywire.net.h1` connection: the request as sent, the
response as read (raw headers, the body up to a cap, gzip/deflate decoded within it)."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

import h11

from .._dataclass import dataclass
from .h1 import (
    Connection,
    ConnectionReset,
    InvalidUrl,
    Origin,
    Pool,
    Request,
    ServerDisconnected,
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


def prepare(
    url: str,
    method: str,
    defaults: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    content: bytes | None,
    verify: bool,
) -> tuple[Origin, Request]:
    """The origin to connect to and the request to send; raises :class:`InvalidUrl`.

    ``Host`` comes first, then ``defaults`` in order, each replaced by a header of ``headers``
    with the same name (case-insensitive), then the rest of ``headers``.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise InvalidUrl(f"invalid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidUrl(f"invalid URL: scheme {scheme!r} is not http or https")
    if not host:
        raise InvalidUrl("invalid URL: no host")
    default = _DEFAULT_PORTS[scheme]
    port = port if port is not None else default
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    # Anything but visible ASCII is percent-encoded, as a browser (and httpx) would send it.
    if not all("!" <= c <= "~" for c in target):
        target = quote(target, safe=_VISIBLE_ASCII)
    shown = f"[{host}]" if ":" in host else host
    sent = {"host": ("Host", shown if port == default else f"{shown}:{port}")}
    sent.update((name.lower(), (name, value)) for name, value in defaults)
    sent.update((name.lower(), (name, value)) for name, value in headers.items())
    if content is not None:
        sent["content-length"] = ("Content-Length", str(len(content)))
    request = Request(method, target, list(sent.values()), content)
    return Origin(scheme, host, port, verify), request


@dataclass(frozen=True)
class Answer:
    """A response as read: raw headers, the body up to the cap, the TLS that carried it."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    http_version: str
    body: bytes
    truncated: bool
    tls_version: str | None
    tls_cipher: str


async def exchange(
    pool: Pool,
    origin: Origin,
    request: Request,
    connect: Callable[[Origin], Awaitable[Connection]],
    *,
    cap: int,
    timeout: float,
) -> Answer:
    """Send ``request`` on an idle connection of ``origin`` (or a new one) and read the answer."""
    connection = pool.take(origin) or await connect(origin)
    try:
        try:
            head = await _send(connection, request, timeout)
        except (ServerDisconnected, ConnectionReset):
            if not connection.reused:
                raise
            # A kept-alive connection the server had closed meanwhile: once more, on a new one.
            connection.close()
            connection = await connect(origin)
            head = await _send(connection, request, timeout)
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers.raw_items()
        )
        body, truncated = await _read_capped(connection, _encoding(headers), cap, timeout)
        ssl_object = connection.ssl_object()
    except BaseException:
        connection.close()
        raise
    if not truncated and connection.reusable():
        pool.give_back(origin, connection)
    else:
        connection.close()
    cipher = ssl_object.cipher() if ssl_object is not None else None
    return Answer(
        status=head.status_code,
        reason=head.reason.decode("latin-1"),
        headers=headers,
        http_version=f"HTTP/{head.http_version.decode('latin-1')}",
        body=body,
        truncated=truncated,
        tls_version=(ssl_object.version() or "") if ssl_object is not None else None,
        tls_cipher=cipher[0] if cipher else "",
    )


async def _send(connection: Connection, request: Request, timeout: float) -> h11.Response:
    """Send the request and read the response head (1xx answers are skipped)."""
    connection.send(request)
    while True:
        event = await connection.next_event(timeout)
        if isinstance(event, h11.Response):
            return event
        if not isinstance(event, h11.InformationalResponse):
            raise ServerDisconnected("server closed the connection without a response")


def _encoding(headers: Sequence[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "content-encoding":
            return value.strip().lower()
    return ""


async def _read_capped(
    connection: Connection, encoding: str, cap: int, timeout: float
) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes of body (decoded from gzip/deflate, also capped)."""
    decoder = None
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    body = bytearray()
    while True:
        event = await connection.next_event(timeout)
        if isinstance(event, h11.Data):
            chunk = bytes(event.data)
            if decoder is not None:
                try:
                    chunk = decoder.decompress(chunk, cap + 1 - len(body))
                except zlib.error:
                    decoder = None
            body += chunk
            if len(body) > cap:
                return bytes(body[:cap]), True
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return bytes(body), False
