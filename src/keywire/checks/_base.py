"""What every check family is made of, and the context its probe runs in.

A family is one module: its rules, a frozen observation dataclass, ``probe`` (the network work, thin)
and ``check`` (a pure function from the observation to findings). The scanner runs every selected
family's probe for a target concurrently, then its check.

A check that cannot reach a verdict raises :class:`CheckNotRun`: ``not_tested(reason)`` when something
went wrong (the report is then incomplete) or ``not_applicable(reason)`` when the check has nothing to
look at (no HTTPS side, for example). Silence from a check that returned normally is a pass.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._models import Category, Finding, OutcomeStatus, Rule
from ..net.http import Chain, Fetched, FetchFailure, HttpClient, HttpResponse
from ..targets import Target

ObsT = TypeVar("ObsT")
T = TypeVar("T")

CANARY_PREFIX = "kw_canary_"
REFUSAL_STATUSES = frozenset({403, 421, 426})


class CheckNotRun(Exception):
    """Raised by a check that could not reach a verdict (on all it examines).

    ``findings`` are what the check could still establish: a family of many probes may find
    weaknesses with some while others could not run.
    """

    def __init__(
        self, status: OutcomeStatus, reason: str, findings: Sequence[Finding] = ()
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.findings = tuple(findings)


def not_tested(reason: str, *, findings: Sequence[Finding] = ()) -> CheckNotRun:
    """Something prevented the check (a timeout, a reset): the report will say it is incomplete.

    Pass the ``findings`` established anyway when only part of the check could not run.
    """
    return CheckNotRun(OutcomeStatus.ERROR, reason, findings)


def not_applicable(reason: str) -> CheckNotRun:
    """The check has nothing to examine on this target (for example, no HTTPS side)."""
    return CheckNotRun(OutcomeStatus.SKIPPED, reason)


def new_canary() -> str:
    """A random, clearly marked, worthless credential for cleartext probes."""
    return CANARY_PREFIX + secrets.token_hex(16)


@dataclass(frozen=True, kw_only=True)
class ScanSettings:
    """The parts of the scan options probes need."""

    canary: str
    has_credentials: bool = False
    deep: bool = False
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
            future = asyncio.ensure_future(make())
            self._memo[key] = future
        result: T = await asyncio.shield(future)
        return result

    async def fetch(
        self, url: str, *, probe: str, headers: Mapping[str, str] | None = None
    ) -> Fetched:
        """One anonymous request (never with the user's credentials), recorded for the report."""
        result = await self.http.fetch(url, probe=probe, headers=headers)
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

    async def https_chain(self) -> Chain | None:
        """The HTTPS side's baseline, without credentials (None if no HTTPS URL is known)."""
        if self.target.https_url is None:
            return None
        return await self.chain(self.target.https_url, probe="https-baseline")

    async def authenticated(self) -> Fetched | None:
        """The target requested with the user's credentials: only over verified HTTPS.

        Returns None when the user gave no credentials, and a policy failure (sent nowhere) when
        the target has no HTTPS side.
        """
        if not self.settings.has_credentials:
            return None
        url = self.target.https_url or self.target.url

        async def make() -> Fetched:
            result = await self.http.fetch(
                url, probe="authenticated", with_credentials_for=self.target.host
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


@dataclass(frozen=True, kw_only=True)
class Family(Generic[ObsT]):
    """One check family: its rules, its probe and its check (see the module docstring)."""

    name: str
    title: str
    group: str
    rules: tuple[Rule, ...]
    probe: Callable[[ProbeContext], Awaitable[ObsT]]
    check: Callable[[ObsT], Sequence[Finding]]
    details: Callable[[ObsT], Mapping[str, object]] | None = None
    categories: tuple[Category, ...] = field(default=())
    #: Why the family has nothing to do on a target, known before any traffic (None: it may).
    #: A scan whose selected families all say so is a usage error, not an empty scan.
    inapplicable: Callable[[Target], str | None] | None = None


def is_refusal(fetched: Fetched) -> bool:
    """True when the server refused a cleartext exchange the way the IETF BCP asks."""
    if isinstance(fetched, FetchFailure):
        return fetched.is_refusal
    return fetched.status in REFUSAL_STATUSES


def serves_content(response: HttpResponse) -> bool:
    """A response that is neither a refusal nor a redirect: the request was processed."""
    return not response.is_redirect and response.status not in REFUSAL_STATUSES


def failure_reason(fetched: FetchFailure) -> str:
    return f"{fetched.url}: {fetched.reason}"
