"""What every probe runs in: the target, the scan's HTTP client, the canary and a request cache.

Several families look at the same exchanges (the HTTPS baseline feeds HSTS, cookies, secrets…);
:meth:`ProbeContext.once` makes sure each is sent once, however many families ask for it
concurrently.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .._dataclass import dataclass
from .._tasks import spawn
from ..checks._base import CANARY_PREFIX
from ..net.http import Chain, FailureKind, Fetched, FetchFailure, HttpClient, HttpResponse
from ..targets import Target

T = TypeVar("T")


def new_canary() -> str:
    """A random, clearly marked, worthless credential for cleartext probes."""
    return CANARY_PREFIX + secrets.token_hex(16)


@dataclass(frozen=True, kw_only=True)
class ScanSettings:
    """The parts of the scan options probes need."""

    canary: str
    has_credentials: bool = False
    deep: bool = False
    #: No request beyond the scanned hosts (OCSP responders, CRLs): ``--offline``.
    offline: bool = False
    #: Send the TLS vulnerability probes (``--no-vulnerability-probes`` turns them off).
    vulnerability_probes: bool = True


class ProbeContext:
    """Shared state of one target's probes: the client, the canary and a request cache.

    Several families look at the same exchanges (the HTTPS baseline feeds HSTS, cookies, secrets…);
    :meth:`once` makes sure each is sent once, however many families ask for it concurrently.
    """

    def __init__(self, *, target: Target, http: HttpClient, settings: ScanSettings) -> None:
        self.target = target
        self.http = http
        self.settings = settings
        self._memo: dict[Hashable, asyncio.Future[Any]] = {}
        self.exchanges: list[Fetched] = []
        self.reached = False

    def mark_reached(self) -> None:
        """Record that a probe talked to the target outside :meth:`fetch` (e.g. raw TLS)."""
        self.reached = True

    @property
    def canary(self) -> str:
        return self.settings.canary

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` the first time ``key`` is asked for; later callers share its result."""
        future = self._memo.get(key)
        if future is None:
            future = spawn(make())
            self._memo[key] = future
        result: T = await asyncio.shield(future)
        return result

    async def fetch(
        self,
        url: str,
        *,
        probe: str,
        headers: Mapping[str, str] | None = None,
        body_cap: int | None = None,
    ) -> Fetched:
        """One anonymous request (never with the user's credentials), recorded for the report.

        ``body_cap`` reads less of the answer than the scan's cap, for a probe that only
        compares it (see :data:`keywire.checks._compare.COMPARED_BYTES`).
        """
        result = await self.http.fetch(url, probe=probe, headers=headers, body_cap=body_cap)
        self.exchanges.append(result)
        return result

    async def chain(self, url: str, *, probe: str) -> Chain:
        """An anonymous request and its same-host redirects, sent once per target."""

        async def make() -> Chain:
            result = await self.http.follow(url, probe=probe)
            self.exchanges.extend(result.hops)
            if result.failure is not None:
                self.exchanges.append(result.failure)
            return result

        return await self.once(("chain", url), make)

    async def http_chain(self) -> Chain | None:
        """The cleartext side's baseline, without credentials (None if no HTTP URL is known)."""
        if self.target.http_url is None:
            return None
        return await self.chain(self.target.http_url, probe="http-baseline")

    async def https_side(self) -> str | None:
        """The URL of the target's HTTPS side, or None when none is known.

        An https:// target is its own HTTPS side, and ``--https-port`` names one. Otherwise the
        API itself may name it: when the cleartext side redirects to ``https://`` on the same
        host (any port), that is the HTTPS side, with the target's path, and every HTTPS check
        (TLS and certificates included) runs there. Only then does the assumed port 443 of an
        http:// target on port 80 apply. The user's credentials are not sent to a side found
        this way (see :meth:`authenticated`).
        """
        target = self.target
        if target.is_https or (target.https_url is not None and not target.https_implied):
            return target.https_url

        async def make() -> str | None:
            named = redirected_https_port(await self.http_chain(), target.host)
            return target.https_url_on(named) if named is not None else target.https_url

        return await self.once(("https-side",), make)

    async def https_chain(self) -> Chain | None:
        """The HTTPS side's baseline, without credentials (None if no HTTPS URL is known)."""
        url = await self.https_side()
        if url is None:
            return None
        return await self.chain(url, probe="https-baseline")

    async def authenticated(self) -> Fetched | None:
        """The target requested with the user's credentials: only over verified HTTPS.

        Returns None when the user gave no credentials, and a policy failure (sent nowhere) when
        the target has no HTTPS side, or only one that the API's redirect named: credentials go
        where the user pointed them (the target, ``--https-port``), never where a cleartext
        answer, which anyone on the path could forge, sends them.
        """
        if not self.settings.has_credentials:
            return None
        side = await self.https_side()
        if side is not None and side != self.target.https_url:
            port = urlsplit(side).port or 443
            return FetchFailure(
                url=side,
                probe="authenticated",
                kind=FailureKind.POLICY,
                reason=(
                    "the HTTPS side was found through the API's redirect, not named by you; "
                    f"pass --https-port {port} to send the credentials there"
                ),
            )
        url = self.target.https_url or self.target.url
        # Exactly the origin the user named (or implied): an HTTPS side found any other way
        # (a redirect, another port) does not draw the credentials.
        origin = self.target.credentials_origin

        async def make() -> Fetched:
            result: Fetched
            if origin is None:
                result = FetchFailure(
                    url=url,
                    probe="authenticated",
                    kind=FailureKind.POLICY,
                    reason="credentials are only sent over verified HTTPS, and no HTTPS side "
                    "was named for this target (give an https:// URL or --https-port)",
                )
            else:
                result = await self.http.fetch(
                    url, probe="authenticated", credentials_origin=origin
                )
            self.exchanges.append(result)
            return result

        return await self.once(("authenticated", url), make)

    async def responses(self) -> tuple[HttpResponse, ...]:
        """Every baseline response of the target: both chains' hops and the authenticated one."""
        found: list[HttpResponse] = []
        for chain in (await self.https_chain(), await self.http_chain()):
            if chain is not None:
                found.extend(chain.hops)
        authenticated = await self.authenticated()
        if isinstance(authenticated, HttpResponse):
            found.append(authenticated)
        return tuple(found)


def redirected_https_port(chain: Chain | None, host: str) -> int | None:
    """The port of the first ``https://`` URL on ``host`` that ``chain``'s redirects name."""
    if chain is None:
        return None
    for hop in chain.hops:
        location = hop.location if hop.is_redirect else None
        if location is None:
            continue
        try:
            parts = urlsplit(location)
            port = parts.port or 443
        except ValueError:
            continue
        if parts.scheme.lower() == "https" and (parts.hostname or "").lower() == host.lower():
            return port
    return None
