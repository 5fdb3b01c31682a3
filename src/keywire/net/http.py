"""Bounded HTTP exchanges: the only place keywire sends an HTTP request.

Every request here has a connect timeout, a read timeout *and* a deadline for the whole exchange (a
server that drips one byte a second defeats a read timeout), reads at most ``body_cap`` bytes, never
follows a redirect by itself, and waits for one of at most ``per_host`` slots for its server
(:mod:`keywire.net.politeness`: address and port, and a scan-wide cap). Failures
come back as a :class:`FetchFailure` value with a kind and a one-line reason, never as an exception.

Credentials the *user* supplied are attached here and nowhere else, and only when the request goes
over HTTPS whose certificate verified, to exactly the origin (scheme, host and port) the user named
(see :meth:`HttpClient.fetch`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from ..redact import scrub
from ..targets import location_problem
from .contexts import unverifying_context, verifying_context, verifying_context_future
from .failures import classify, retryable
from .models import (
    DEFAULT_BODY_CAP,
    REDIRECT_STATUSES,
    USER_AGENT,
    Chain,
    ChainEnd,
    ClientSettings,
    FailureKind,
    Fetched,
    FetchFailure,
    HttpResponse,
    TlsInfo,
)
from .politeness import Politeness, RetryPolicy
from .resolver import CachingResolver, Resolver, SystemResolver

if TYPE_CHECKING:
    from . import h1

log = logging.getLogger("keywire.http")

__all__ = [
    "DEFAULT_BODY_CAP",
    "REDIRECT_STATUSES",
    "USER_AGENT",
    "Chain",
    "ChainEnd",
    "ClientSettings",
    "FailureKind",
    "FetchFailure",
    "Fetched",
    "HttpClient",
    "HttpResponse",
    "TlsInfo",
    "classify",
    "verifying_context",
]


class HttpClient:
    """The scan-wide HTTP client. Use as an async context manager.

    HTTP/1.1 on keywire's own connections (:mod:`keywire.net.h1`): idle keep-alive connections
    are kept per origin, and no cookie is ever stored or sent but the user's own.
    """

    def __init__(self, settings: ClientSettings, *, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.resolver = CachingResolver(resolver or SystemResolver(timeout=settings.timeout))
        self._pool: h1.Pool | None = None
        self.politeness = Politeness(
            self.resolver, per_server=settings.per_host, max_connections=settings.max_connections
        )
        self._retry = RetryPolicy(retries=settings.retries)
        self.requests_sent = 0

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def host_slot(
        self, host: str, port: int, address: str | None = None
    ) -> AbstractAsyncContextManager[None]:
        """Hold one of the ``per_host`` connection slots of the server behind ``host:port``
        (its resolved address and port; shared with the TLS engine) and one of the scan's
        (see :mod:`keywire.net.politeness`)."""
        return self.politeness.slot(host, port, address)

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
        port = parts.port or (443 if parts.scheme == "https" else 80)
        async with self.host_slot(host, port):
            result = await self._retrying(
                url, probe, method, extra, body, verify=True, creds=credentials
            )
            if (
                isinstance(result, FetchFailure)
                and result.kind is FailureKind.CERTIFICATE
                and not credentials
            ):
                retry = await self._retrying(
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

    async def _retrying(
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
        """:meth:`_bounded`, again after a backoff while the connection failed before any
        answer (see :class:`~keywire.net.politeness.RetryPolicy`)."""
        result = await self._bounded(url, probe, method, headers, body, verify=verify, creds=creds)
        attempt = 0
        while (
            isinstance(result, FetchFailure)
            and retryable(result.kind, result.reason)
            and attempt < self._retry.retries
        ):
            attempt += 1
            await self._retry.wait(attempt)
            result = await self._bounded(
                url, probe, method, headers, body, verify=verify, creds=creds
            )
        return result

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
        body: _Body,
        *,
        verify: bool,
        creds: bool,
    ) -> HttpResponse:
        from . import exchange, h1  # h11 loads with the first HTTP request: --only tls needs none

        started = time.perf_counter()
        if self._pool is None:
            self._pool = h1.Pool()
        origin, request = exchange.prepare(
            url, method, _DEFAULT_HEADERS, headers, body.content, verify
        )
        answer = await exchange.exchange(
            self._pool, origin, request, self._connect, cap=body.cap, timeout=self.settings.timeout
        )
        tls = None
        if answer.tls_version is not None:
            tls = TlsInfo(version=answer.tls_version, cipher=answer.tls_cipher, verified=verify)
        response = HttpResponse(
            url=url,
            method=method,
            probe=probe,
            status=answer.status,
            reason=answer.reason,
            headers=answer.headers,
            body=answer.body,
            body_truncated=answer.truncated,
            http_version=answer.http_version,
            elapsed_s=time.perf_counter() - started,
            tls=tls,
            sent_credentials=creds,
        )
        if log.isEnabledFor(logging.INFO):
            log.info('HTTP Request: %s %s "%s %d"', method, url, answer.http_version, answer.status)
        return response

    async def _connect(self, origin: h1.Origin) -> h1.Connection:
        from .h1 import open_connection

        addresses = await self.resolver.resolve(origin.host)
        context = None
        if origin.scheme == "https":
            context = (
                await _verifying_context(self.settings.ca_file)
                if origin.verify
                else unverifying_context()
            )
        return await open_connection(
            addresses[:_MAX_ADDRESSES_TRIED],
            origin.port,
            ssl_context=context,
            server_hostname=origin.host,
            timeout=self.settings.timeout,
        )


async def _verifying_context(ca_file: str | None) -> ssl.SSLContext:
    """The verifying context, awaited (its first build runs in a thread) without blocking."""
    future = verifying_context_future(ca_file)
    if future.done():
        return future.result()
    return await asyncio.wrap_future(future)


#: What every request carries (as httpx sent it), unless a probe's own header replaces it.
_DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "identity"),
    ("Connection", "keep-alive"),
    ("User-Agent", USER_AGENT),
)
_MAX_ADDRESSES_TRIED = 4


class _Body(NamedTuple):
    """What a request sends (``content``) and how much of the answer it reads (``cap``)."""

    content: bytes | None
    cap: int


def _replace_tls(response: HttpResponse, tls: TlsInfo) -> HttpResponse:
    return dataclasses.replace(response, tls=tls)
