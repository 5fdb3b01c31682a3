"""Collecting tokens from an API: one read-only request at a time, politely, within bounds.

``keywire tokens URL --from SOURCE --samples N`` sends N requests (GET or HEAD only) one after
another at no more than ``rate`` per second, and pulls one token out of each response:

* ``cookie:NAME``: the value of the ``Set-Cookie`` for NAME;
* ``header:NAME``: a response header;
* ``json:PATH``: a field of a JSON body, e.g. ``token``, ``data.session.id`` or ``items[0].key``;
* ``body:REGEX``: the first match of REGEX in the body (its first group, if it has one).

Requests go through :class:`keywire.net.http.HttpClient`, so every one is bounded in time and
bytes, never follows redirects and never sends cookies back (each request is a fresh client, as
a token issuer sees a new visitor). Sampling stops at the sample count, at ``max_time``, at
``max_bytes`` received, after ``max_failures`` consecutive failed requests, or when the first
responses carry no token at all. Tokens stay in memory only, for the analysis.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import field
from email.utils import parsedate_to_datetime

from .. import _json
from .._dataclass import dataclass
from ..net.http import Fetched, FetchFailure, HttpClient, HttpResponse

SOURCE_KINDS = ("cookie", "header", "json", "body")
READ_ONLY_METHODS = ("GET", "HEAD")
DEFAULT_RATE = 5.0
MAX_RATE = 1000.0
DEFAULT_MAX_TIME = 600.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_SAMPLES = 100_000
#: Without ``--samples``: the first batch, and the most collected for the tests' needs.
AUTO_FIRST_BATCH = 100
AUTO_MAX_SAMPLES = 2_000
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class SourceError(ValueError):
    """A ``--from`` specification keywire cannot use."""


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where in a response the token is."""

    kind: str
    name: str
    pattern: re.Pattern[str] | None = None
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def needs_body(self) -> bool:
        return self.kind in ("json", "body")

    def extract(self, response: HttpResponse) -> str | None:
        """The token in ``response``, or None."""
        if self.kind == "cookie":
            for header in response.header_values("set-cookie"):
                first = header.partition(";")[0]
                name, sep, value = first.partition("=")
                if sep and name.strip() == self.name:
                    return value.strip().strip('"') or None
            return None
        if self.kind == "header":
            found = response.header(self.name)
            return (found.strip() or None) if found is not None else None
        text = response.text
        if self.kind == "body":
            assert self.pattern is not None
            match = self.pattern.search(text)
            if match is None:
                return None
            return (match.group(1) if match.groups() else match.group(0)) or None
        try:
            node: object = _json.loads(text)
        except ValueError:
            return None
        for part in self.path:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                node = node[part]
                continue
            if isinstance(part, str) and isinstance(node, Mapping) and part in node:
                node = node[part]
                continue
            return None
        if isinstance(node, str | int) and not isinstance(node, bool):
            return str(node) or None
        return None


def parse_source(spec: str) -> Source:
    """Parse ``KIND:NAME`` (see the module docstring); raises :class:`SourceError`."""
    kind, sep, name = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in SOURCE_KINDS or not name:
        raise SourceError(
            f"--from takes {' | '.join(k + ':…' for k in SOURCE_KINDS)}, not {spec!r}"
        )
    if kind == "body":
        try:
            pattern = re.compile(name)
        except re.error as exc:
            raise SourceError(f"body: regular expression does not compile: {exc}") from None
        return Source(kind=kind, name=name, pattern=pattern)
    if kind == "json":
        path: list[str | int] = []
        position = 0
        text = name[1:] if name.startswith("$.") else name
        for match in _PATH_PART.finditer(text):
            key, index = match.groups()
            path.append(int(index) if index is not None else key)
            position = match.end()
            if position < len(text) and text[position] == ".":
                position += 1
        if not path:
            raise SourceError(f"json: path {name!r} is empty")
        return Source(kind=kind, name=name, path=tuple(path))
    if any(c.isspace() for c in name):
        raise SourceError(f"{kind}: name {name!r} contains whitespace")
    return Source(kind=kind, name=name.strip())


@dataclass(frozen=True, kw_only=True)
class SamplingPlan:
    """What to collect. With ``auto``, ``samples`` is the first batch: collection then goes on
    until every test that applies to the tokens seen has what it needs
    (:func:`keywire.tokens.analysis.samples_wanted`), at most ``max_samples``."""

    url: str
    source: Source
    samples: int
    method: str = "GET"
    rate: float = DEFAULT_RATE
    max_time: float = DEFAULT_MAX_TIME
    max_bytes: int = DEFAULT_MAX_BYTES
    max_failures: int = 5
    credentials_origin: str | None = None
    auto: bool = False
    max_samples: int = AUTO_MAX_SAMPLES

    def __post_init__(self) -> None:
        if self.method not in READ_ONLY_METHODS:
            raise ValueError(f"only read-only methods are sent ({', '.join(READ_ONLY_METHODS)})")
        if self.method == "HEAD" and self.source.needs_body:
            raise ValueError(f"a HEAD response has no body to take {self.source} from")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ValueError(f"--samples must be between 1 and {MAX_SAMPLES}")
        if not self.samples <= self.max_samples <= MAX_SAMPLES:
            raise ValueError(f"the sample cap must be between --samples and {MAX_SAMPLES}")
        if not 0 < self.rate <= MAX_RATE:
            raise ValueError(f"--rate must be above 0 and at most {MAX_RATE:g} per second")


@dataclass(frozen=True, kw_only=True)
class Collected:
    """What sampling brought back. ``tokens`` are raw: analyse them, never print them.

    ``times`` is when each token's response was read, ``sent_times`` when its request was sent
    and ``server_dates`` the response's ``Date`` header (Unix seconds, None when absent or
    unreadable): together they bound when, by the server's clock, each token was made.
    """

    tokens: tuple[str, ...] = field(repr=False)
    times: tuple[float, ...]
    requests: int
    failures: int
    missing: int
    bytes_received: int
    elapsed_s: float
    stopped: str
    last_error: str = ""
    sent_times: tuple[float, ...] = ()
    server_dates: tuple[float | None, ...] = ()
    target: int = 0


class SamplingState:
    """Collection in progress. :func:`collect` updates it as it goes, so whoever holds it can
    still take what was collected when collection is interrupted (Ctrl-C)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.times: list[float] = []
        self.sent_times: list[float] = []
        self.server_dates: list[float | None] = []
        self.requests = self.failures = self.missing = self.received = 0
        self.last_error = ""
        self.target = 0
        self.started = time.monotonic()

    def result(self, stopped: str) -> Collected:
        """What was collected so far, as a :class:`Collected`."""
        return Collected(
            tokens=tuple(self.tokens),
            times=tuple(self.times),
            requests=self.requests,
            failures=self.failures,
            missing=self.missing,
            bytes_received=self.received,
            elapsed_s=round(time.monotonic() - self.started, 3),
            stopped=stopped,
            last_error=self.last_error,
            sent_times=tuple(self.sent_times),
            server_dates=tuple(self.server_dates),
            target=self.target,
        )


def _server_date(response: HttpResponse) -> float | None:
    value = response.header("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


async def collect(
    plan: SamplingPlan,
    client: HttpClient,
    *,
    state: SamplingState | None = None,
    progress: Callable[[SamplingState], None] | None = None,
) -> Collected:
    """Run ``plan`` with ``client``; never raises for network trouble (see ``stopped``).

    ``state`` (optional) is updated as tokens arrive; ``progress`` is called after every
    request with it. With ``plan.auto``, the target grows to what the tests need.
    """
    from .analysis import samples_wanted

    state = state if state is not None else SamplingState()
    state.started = time.monotonic()
    state.target = plan.samples
    consecutive = 0
    interval = 1.0 / plan.rate
    next_at = 0.0
    # Each gap is stretched by up to a quarter, at random: requests then fall at every phase
    # of the server's second, so its Date headers pin its clock down (see predict.clockhash).
    # The rate is never exceeded.
    jitter = random.Random()  # noqa: S311 (timing, not a secret)
    stopped = "complete"
    while True:
        if len(state.tokens) >= state.target:
            if not plan.auto:
                break
            wanted = min(samples_wanted(state.tokens), plan.max_samples)
            if wanted <= len(state.tokens):
                break
            state.target = wanted
        elapsed = time.monotonic() - state.started
        if elapsed >= plan.max_time:
            stopped = f"time limit ({plan.max_time:g} s)"
            break
        if state.received >= plan.max_bytes:
            stopped = f"byte limit ({plan.max_bytes} bytes)"
            break
        wait = next_at - elapsed
        if wait > 0:
            await asyncio.sleep(min(wait, plan.max_time - elapsed))
            continue
        next_at = max(next_at, elapsed) + interval * (1.0 + 0.25 * jitter.random())
        state.requests += 1
        sent = time.time()
        try:
            # No request outlives the time limit: it is cancelled there.
            result = await asyncio.wait_for(
                client.fetch(
                    plan.url,
                    probe="tokens",
                    method=plan.method,
                    credentials_origin=plan.credentials_origin,
                ),
                max(0.001, plan.max_time - elapsed),
            )
        except asyncio.TimeoutError:
            stopped = f"time limit ({plan.max_time:g} s)"
            break
        consecutive = consecutive + 1 if isinstance(result, FetchFailure) else 0
        why = _take(plan, state, result, sent, consecutive)
        if progress is not None:
            progress(state)
        if why:
            stopped = why
            break
    return state.result(stopped)


def _take(
    plan: SamplingPlan, state: SamplingState, result: Fetched, sent: float, consecutive: int
) -> str:
    """Record one exchange in ``state``; returns why collection must stop ("" to go on)."""
    if isinstance(result, FetchFailure):
        state.failures += 1
        state.last_error = result.reason
        if consecutive >= plan.max_failures:
            return f"{consecutive} requests in a row failed"
        return ""
    state.received += len(result.body) + sum(len(k) + len(v) + 4 for k, v in result.headers)
    token = plan.source.extract(result)
    if token is None:
        state.missing += 1
        state.last_error = f"HTTP {result.status} response without {plan.source}"
        if not state.tokens and state.missing >= plan.max_failures:
            return f"the first {state.missing} responses carried no {plan.source}"
        return ""
    state.tokens.append(token)
    state.times.append(time.time())
    state.sent_times.append(sent)
    state.server_dates.append(_server_date(result))
    return ""
