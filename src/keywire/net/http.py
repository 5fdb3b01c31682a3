"""Bounded HTTP exchanges: the only place keywire sends an HTTP request.

Every request here has a connect timeout, a read timeout *and* a deadline for the whole exchange (a
server that drips one byte a second defeats a read timeout), reads at most ``body_cap`` bytes, never
follows a redirect by itself, and waits for one of at most ``per_host`` slots for its host. Failures
come back as a :class:`FetchFailure` value with a kind and a one-line reason, never as an exception.

Credentials the *user* supplied are attached here and nowhere else, and only when the request goes
over HTTPS whose certificate verified, to exactly the origin (scheme, host and port) the user named
(see :meth:`HttpClient.fetch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import http.cookiejar
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .._version import __version__
from ..redact import scrub
from ..targets import location_problem
from .resolver import CachingResolver, ResolutionError, Resolver, SystemResolver

if TYPE_CHECKING:  # httpx (and, through it, click and rich) loads on the first request only
    import httpx

USER_AGENT = f"keywire/{__version__} (+https://github.com/keywire/keywire)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_BODY_CAP = 1024 * 1024


class FailureKind(enum.Enum):
    """Why an exchange produced no response."""

    DNS = "dns"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TIMEOUT = "timeout"
    CERTIFICATE = "certificate"
    TLS = "tls"
    RESET = "reset"
    PROTOCOL = "protocol"
    POLICY = "policy"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class TlsInfo:
    version: str
    cipher: str
    verified: bool
    verify_error: str = ""


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    """One request and the response it got. ``body`` is capped and never serialized."""

    url: str
    method: str
    probe: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = field(repr=False)
    body_truncated: bool
    http_version: str
    elapsed_s: float
    tls: TlsInfo | None = None
    sent_credentials: bool = False

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and self.header("location") is not None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        lowered = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == lowered)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        """The absolute URL of the ``Location`` header, if any."""
        value = self.header("location")
        if value is None:
            return None
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            # As sent: urljoin would quietly drop some of them, and no client accepts any.
            return value
        try:
            return urljoin(self.url, value.strip())
        except ValueError:
            return value.strip()


@dataclass(frozen=True, kw_only=True)
class FetchFailure:
    """An exchange that produced no usable response."""

    url: str
    probe: str
    kind: FailureKind
    reason: str

    @property
    def is_refusal(self) -> bool:
        """The server refused to talk at all (nothing listens, or the port is filtered)."""
        return self.kind in (FailureKind.REFUSED, FailureKind.CONNECT_TIMEOUT)


Fetched = HttpResponse | FetchFailure


class ChainEnd(enum.Enum):
    FINAL = "final"  # the last hop is not a redirect
    OFF_HOST = "off_host"  # the next hop leaves the host; keywire does not follow
    LOOP = "loop"
    TOO_MANY = "too_many"
    FAILED = "failed"  # the last request failed; see ``failure``
    INVALID = "invalid_location"  # the Location is no URL a client can follow (``next_url``)


@dataclass(frozen=True, kw_only=True)
class Chain:
    """A request and the redirects keywire followed from it, hop by hop."""

    start: str
    hops: tuple[HttpResponse, ...]
    end: ChainEnd
    failure: FetchFailure | None = None
    next_url: str = ""

    @property
    def first(self) -> Fetched:
        if self.hops:
            return self.hops[0]
        assert self.failure is not None
        return self.failure

    @property
    def last(self) -> HttpResponse | None:
        return self.hops[-1] if self.hops else None


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    timeout: float = 10.0
    body_cap: int = DEFAULT_BODY_CAP
    per_host: int = 5
    max_hops: int = 10
    ca_file: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)


def _no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that never stores anything."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def verifying_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies against the system roots, certifi's and ``ca_file``."""
    import certifi

    context = ssl.create_default_context()
    # Python 3.13 turns on VERIFY_X509_STRICT by default; OpenSSL itself, curl and the clients
    # of most APIs do not. Trust is decided the way they decide it; what the strict profile
    # would refuse is reported apart (KW613), and never withholds the user's credentials.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cafile=certifi.where())
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _unverifying_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class HttpClient:
    """The scan-wide HTTP client. Use as an async context manager."""

    def __init__(self, settings: ClientSettings, *, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.resolver = CachingResolver(resolver or SystemResolver(timeout=settings.timeout))
        # Created on first use: a scan that sends no HTTP request (``--only tls``) never pays
        # for importing httpx and loading two CA bundles.
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.requests_sent = 0

    def _client(self, verify: bool) -> httpx.AsyncClient:
        client = self._clients.get(verify)
        if client is None:
            import httpx

            from .transport import ResolvingTransport

            context = verifying_context(self.settings.ca_file) if verify else _unverifying_context()
            client = httpx.AsyncClient(
                event_hooks={"response": [_hide_location_from_httpx]},
                transport=ResolvingTransport(resolver=self.resolver, ssl_context=context),
                timeout=httpx.Timeout(self.settings.timeout, connect=self.settings.timeout),
                # Every exchange is anonymous: a cookie one response sets must not ride along on
                # the next probe (or on a token sampler's next request).
                cookies=_no_cookies(),
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            )
            self._clients[verify] = client
        return client

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    @contextlib.asynccontextmanager
    async def host_slot(self, host: str) -> AsyncIterator[None]:
        """Hold one of the ``per_host`` connection slots of ``host`` (shared with the TLS engine)."""
        slot = self._slots.setdefault(host.lower(), asyncio.Semaphore(self.settings.per_host))
        async with slot:
            yield

    async def fetch(
        self,
        url: str,
        *,
        probe: str,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        credentials_origin: str | None = None,
        content: bytes | None = None,
        body_cap: int | None = None,
    ) -> Fetched:
        """Send one request and read its response within the deadline.

        ``content`` is a request body (an OCSP request, say); ``body_cap`` replaces the client's
        cap on the response body for this request (a CRL may be larger than an API answer).

        ``credentials_origin`` (``https://host:port``, see :func:`keywire.targets.origin_of`)
        names the origin the user's credentials belong to. They are added only if ``url`` is on
        exactly that origin (scheme, host *and* port: another port of the same host is another
        service) over https, and the request then insists on a verified certificate. Anonymous
        HTTPS requests try verification first and fall back to an unverified connection,
        recording why, so a self-signed API still gets its HTTP checks.
        """
        from ..targets import origin_of

        parts = urlsplit(url)
        host = parts.hostname or ""
        extra = dict(headers or {})
        credentials = False
        if credentials_origin is not None and self.settings.credentials:
            allowed = origin_of(credentials_origin)
            if parts.scheme != "https" or allowed is None or origin_of(url) != allowed:
                return FetchFailure(
                    url=url,
                    probe=probe,
                    kind=FailureKind.POLICY,
                    reason="credentials are only sent over verified HTTPS to the origin the "
                    "user named",
                )
            extra.update(self.settings.credentials)
            credentials = True
        body = _Body(content, body_cap or self.settings.body_cap)
        async with self.host_slot(host):
            result = await self._bounded(
                url, probe, method, extra, body, verify=True, creds=credentials
            )
            if (
                isinstance(result, FetchFailure)
                and result.kind is FailureKind.CERTIFICATE
                and not credentials
            ):
                retry = await self._bounded(
                    url, probe, method, extra, body, verify=False, creds=False
                )
                if isinstance(retry, HttpResponse) and retry.tls is not None:
                    tls = TlsInfo(
                        version=retry.tls.version,
                        cipher=retry.tls.cipher,
                        verified=False,
                        verify_error=result.reason,
                    )
                    retry = _replace_tls(retry, tls)
                return retry
            return result

    async def follow(
        self,
        url: str,
        *,
        probe: str,
        headers: Mapping[str, str] | None = None,
    ) -> Chain:
        """Request ``url`` and follow redirects on the same host, one recorded hop at a time."""
        start_host = (urlsplit(url).hostname or "").lower()
        hops: list[HttpResponse] = []
        seen = {url}
        current = url
        for _ in range(self.settings.max_hops + 1):
            fetched = await self.fetch(current, probe=probe, headers=headers)
            if isinstance(fetched, FetchFailure):
                return Chain(start=url, hops=tuple(hops), end=ChainEnd.FAILED, failure=fetched)
            hops.append(fetched)
            location = fetched.location if fetched.is_redirect else None
            if location is None:
                return Chain(start=url, hops=tuple(hops), end=ChainEnd.FINAL)
            if location_problem(location) is not None:
                return Chain(start=url, hops=tuple(hops), end=ChainEnd.INVALID, next_url=location)
            next_host = (urlsplit(location).hostname or "").lower()
            if urlsplit(location).scheme not in ("http", "https") or next_host != start_host:
                return Chain(start=url, hops=tuple(hops), end=ChainEnd.OFF_HOST, next_url=location)
            if location in seen:
                return Chain(start=url, hops=tuple(hops), end=ChainEnd.LOOP, next_url=location)
            seen.add(location)
            current = location
        return Chain(start=url, hops=tuple(hops), end=ChainEnd.TOO_MANY, next_url=current)

    async def _bounded(
        self,
        url: str,
        probe: str,
        method: str,
        headers: Mapping[str, str],
        body: _Body,
        *,
        verify: bool,
        creds: bool,
    ) -> Fetched:
        deadline = self.settings.timeout * 2
        self.requests_sent += 1
        try:
            return await asyncio.wait_for(
                self._exchange(url, probe, method, headers, body, verify=verify, creds=creds),
                deadline,
            )
        except asyncio.TimeoutError:
            return FetchFailure(
                url=url,
                probe=probe,
                kind=FailureKind.TIMEOUT,
                reason=f"no complete response within {deadline:g}s",
            )
        except Exception as exc:
            kind, reason = classify(exc)
            # Library errors quote what they choked on, which a hostile server can make the
            # user's credential (echoed into a malformed status line, say).
            reason = scrub(reason, self.settings.credentials.values())
            return FetchFailure(url=url, probe=probe, kind=kind, reason=reason)

    async def _exchange(
        self,
        url: str,
        probe: str,
        method: str,
        headers: Mapping[str, str],
        sent: _Body,
        *,
        verify: bool,
        creds: bool,
    ) -> HttpResponse:
        client = self._client(verify)
        started = time.perf_counter()
        request = client.build_request(method, url, headers=headers, content=sent.content)
        response = await client.send(request, stream=True)
        try:
            body, truncated = await _read_capped(response, sent.cap)
            tls = _tls_info(response, verified=verify)
        finally:
            await response.aclose()
        return HttpResponse(
            url=url,
            method=method,
            probe=probe,
            status=response.status_code,
            reason=response.reason_phrase,
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in response.extensions.get(_RAW_HEADERS, response.headers.raw)
            ),
            body=body,
            body_truncated=truncated,
            http_version=response.http_version,
            elapsed_s=time.perf_counter() - started,
            tls=tls,
            sent_credentials=creds,
        )


@dataclass(frozen=True)
class _Body:
    """What one request sends (``content``) and how much of the answer it reads (``cap``)."""

    content: bytes | None
    cap: int


_RAW_HEADERS = "keywire_raw_headers"


async def _hide_location_from_httpx(response: httpx.Response) -> None:
    """Keep httpx from parsing ``Location``.

    httpx builds the next request from a redirect's ``Location`` even with redirects off, and
    raises on one it cannot parse (``javascript:``, control characters, a bad port): the
    response is lost and the whole target looks unreachable. keywire follows redirects itself
    and judges the value (KW103), so the headers are kept as received and httpx sees none.
    """
    response.extensions[_RAW_HEADERS] = list(response.headers.raw)
    if "location" in response.headers:
        del response.headers["location"]


def _replace_tls(response: HttpResponse, tls: TlsInfo) -> HttpResponse:
    return dataclasses.replace(response, tls=tls)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """Read at most ``cap`` bytes of body (decoded from gzip/deflate, also capped)."""
    encoding = (response.headers.get("content-encoding") or "").strip().lower()
    decoder = None
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()
    body = bytearray()
    async for chunk in response.aiter_raw():
        if decoder is not None:
            try:
                chunk = decoder.decompress(chunk, cap + 1 - len(body))
            except zlib.error:
                decoder = None
        body += chunk
        if len(body) > cap:
            return bytes(body[:cap]), True
    return bytes(body), False


def _tls_info(response: httpx.Response, *, verified: bool) -> TlsInfo | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return TlsInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        verified=verified,
    )


def _chain_messages(exc: BaseException) -> Sequence[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException) -> tuple[FailureKind, str]:
    """Turn an exception from httpx/httpcore/ssl/OS into a failure kind and a one-line reason."""
    import httpcore
    import httpx

    from .transport import TlsHandshakeFailed, TlsHandshakeStalled

    chain = _chain_messages(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return FailureKind.CERTIFICATE, f"certificate did not verify: {item.verify_message}"
    for item in chain:
        # Before the connect timeout below: a stalled handshake is not a port that never answered.
        if isinstance(item, TlsHandshakeStalled | TlsHandshakeFailed):
            return FailureKind.TLS, str(item).splitlines()[0][:200]
    for item in chain:
        if isinstance(item, ResolutionError):
            return FailureKind.DNS, str(item)
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return FailureKind.REFUSED, "connection refused"
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200] or type(exc).__name__
    if isinstance(exc, httpcore.ConnectTimeout | httpx.ConnectTimeout):
        return FailureKind.CONNECT_TIMEOUT, "connect timed out"
    if isinstance(exc, httpcore.TimeoutException | httpx.TimeoutException):
        return FailureKind.TIMEOUT, "read timed out"
    if isinstance(exc, httpcore.ConnectError | httpx.ConnectError):
        if any(isinstance(item, ssl.SSLError) for item in chain) or "SSL" in first_line:
            return FailureKind.TLS, f"TLS handshake failed: {first_line}"
        if "refused" in first_line.lower():
            return FailureKind.REFUSED, "connection refused"
        return FailureKind.OTHER, f"cannot connect: {first_line}"
    if isinstance(exc, httpcore.RemoteProtocolError | httpx.RemoteProtocolError):
        if "disconnected" in first_line.lower():
            return FailureKind.RESET, "server closed the connection without a response"
        return FailureKind.PROTOCOL, f"malformed HTTP response: {first_line}"
    if isinstance(exc, httpcore.ReadError | httpx.ReadError | ConnectionError):
        return FailureKind.RESET, "connection reset by the server"
    if isinstance(exc, ssl.SSLError):
        return FailureKind.TLS, f"TLS error: {first_line}"
    if isinstance(exc, UnicodeError | ValueError):
        return FailureKind.PROTOCOL, f"malformed HTTP response: {first_line}"
    return FailureKind.OTHER, f"{type(exc).__name__}: {first_line}"
