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
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from .._models import Category, Finding, OutcomeStatus, Rule
from .._tasks import spawn
from ..net.http import Chain, FailureKind, Fetched, FetchFailure, HttpClient, HttpResponse
from ..targets import Target

ObsT = TypeVar("ObsT")
T = TypeVar("T")
log = logging.getLogger("keywire")

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


class Isolation:
    """Keeps one item's failure from losing the others: a probe that analyses many things it
    captured (every response, every candidate secret) runs each under :meth:`item`.

    A failure is logged and counted, never raised; the probe puts :attr:`errors` into its
    observation as ``internal_errors``, and the scanner then reports the family as not tested
    (internal error), keeping every finding the other items produced.

    >>> isolation = Isolation()
    >>> with isolation.item("parsing a body"):
    ...     raise RecursionError("deep")
    >>> isolation.errors
    ('RecursionError while parsing a body',)
    """

    def __init__(self) -> None:
        self._errors: list[str] = []

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def record(self, what: str, exc: BaseException) -> None:
        # The exception's text is never shown: it may quote what the target sent.
        log.debug("internal error while %s", what, exc_info=exc)
        self.add(f"{type(exc).__name__} while {what}")

    def add(self, error: str) -> None:
        """Record a failure already described (by a helper that isolated it itself)."""
        self._errors.append(error)

    @contextlib.contextmanager
    def item(self, what: str) -> Iterator[None]:
        """Run the block; an ``Exception`` in it is recorded (``what`` names the item)."""
        try:
            yield
        except Exception as exc:
            self.record(what, exc)


def internal_error(problems: Sequence[str], *, kept: bool = True) -> str:
    """The reason of a family that hit a bug in keywire. Never the exception's text: it may
    quote what the target sent (or a credential)."""
    distinct = list(dict.fromkeys(problems))
    shown = "; ".join(distinct[:3]) + (
        f" (and {len(distinct) - 3} more)" if len(distinct) > 3 else ""
    )
    kept_note = "; the findings it made are kept" if kept else ""
    return f"internal error in keywire ({shown}){kept_note}"


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


@dataclass(frozen=True, kw_only=True)
class Family(Generic[ObsT]):
    """One check family: its rules, its probe and its check (see the module docstring)."""

    name: str
    title: str
    group: str
    rules: tuple[Rule, ...]
    probe: Callable[[ProbeContext], Awaitable[ObsT]]
    check: Callable[[ObsT], Iterable[Finding]]
    details: Callable[[ObsT], Mapping[str, object]] | None = None
    categories: tuple[Category, ...] = field(default=())
    #: Why the family has nothing to do on a target, known before any traffic (None: it may).
    #: A scan whose selected families all say so is a usage error, not an empty scan.
    inapplicable: Callable[[Target], str | None] | None = None


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


def is_refusal(fetched: Fetched) -> bool:
    """True when the server refused a cleartext exchange the way the IETF BCP asks."""
    if isinstance(fetched, FetchFailure):
        return fetched.is_refusal
    return fetched.status in REFUSAL_STATUSES


def serves_content(response: HttpResponse) -> bool:
    """A response that is neither a refusal nor a redirect: the request was processed."""
    return not response.is_redirect and response.status not in REFUSAL_STATUSES
