"""An httpx transport that resolves names through keywire's :class:`~keywire.net.resolver.Resolver`.

httpx normally asks the operating system; keywire needs every connection to go through one resolver
so that tests can inject names, ``*.invalid`` never leaves the machine, and the TLS engine and the HTTP
probes agree on addresses. TLS still verifies against the host *name*, because httpcore passes the
origin's name as ``server_hostname`` whatever address the backend connected to.

Exceptions from httpcore are deliberately not translated here: :mod:`keywire.net.http` classifies
them into probe failures at one place. One distinction only this layer can make is kept, though:
httpcore reports a TLS handshake that stalls as a *connect* timeout, the same as a port that never
answers, yet a server that accepted the TCP connection has not refused anything. The stream this
backend returns marks handshake failures (:class:`TlsHandshakeStalled`, :class:`TlsHandshakeFailed`)
so they are never taken for "nothing listens here".
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterable

import httpcore
import httpx

from .resolver import ResolutionError, Resolver

_MAX_ADDRESSES_TRIED = 4


class TlsHandshakeStalled(httpcore.ConnectTimeout):
    """The TCP connection was made, but the TLS handshake did not complete in time."""


class TlsHandshakeFailed(httpcore.ConnectError):
    """The TCP connection was made, but the server broke off the TLS handshake."""


class _HandshakeAwareStream(httpcore.AsyncNetworkStream):
    """A connected TCP stream whose ``start_tls`` says when the *handshake* is what failed."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except httpcore.ConnectTimeout as exc:
            within = f" within {timeout:g}s" if timeout is not None else ""
            raise TlsHandshakeStalled(
                f"the server accepted the connection, but the TLS handshake did not complete{within}"
            ) from exc
        except httpcore.ConnectError as exc:
            if isinstance(exc.__cause__ or exc.__context__, ssl.SSLError):
                raise  # the TLS library's own verdict (a certificate, an alert): keep it
            raise TlsHandshakeFailed(
                "the server accepted the connection, then broke off the TLS handshake"
                + (f" ({exc})" if str(exc) else "")
            ) from exc

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class ResolvingBackend(httpcore.AsyncNetworkBackend):
    """Resolve with keywire's resolver, then connect with httpcore's own anyio backend."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._resolver.resolve(host)
        except ResolutionError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last_error: Exception | None = None
        for address in addresses[:_MAX_ADDRESSES_TRIED]:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return _HandshakeAwareStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - keywire never asks for one
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: AsyncIterable[bytes]) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            yield part

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


class ResolvingTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over httpcore's pool, connecting through :class:`ResolvingBackend`."""

    def __init__(
        self,
        *,
        resolver: Resolver,
        ssl_context: ssl.SSLContext,
        max_connections: int = 100,
        max_keepalive: int = 20,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=ResolvingBackend(resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
