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
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import _json
from ..net.http import FetchFailure, HttpClient, HttpResponse

SOURCE_KINDS = ("cookie", "header", "json", "body")
READ_ONLY_METHODS = ("GET", "HEAD")
DEFAULT_RATE = 5.0
MAX_RATE = 1000.0
DEFAULT_MAX_TIME = 600.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_SAMPLES = 100_000
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
    url: str
    source: Source
    samples: int
    method: str = "GET"
    rate: float = DEFAULT_RATE
    max_time: float = DEFAULT_MAX_TIME
    max_bytes: int = DEFAULT_MAX_BYTES
    max_failures: int = 5
    credentials_origin: str | None = None

    def __post_init__(self) -> None:
        if self.method not in READ_ONLY_METHODS:
            raise ValueError(f"only read-only methods are sent ({', '.join(READ_ONLY_METHODS)})")
        if self.method == "HEAD" and self.source.needs_body:
            raise ValueError(f"a HEAD response has no body to take {self.source} from")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ValueError(f"--samples must be between 1 and {MAX_SAMPLES}")
        if not 0 < self.rate <= MAX_RATE:
            raise ValueError(f"--rate must be above 0 and at most {MAX_RATE:g} per second")


@dataclass(frozen=True, kw_only=True)
class Collected:
    """What sampling brought back. ``tokens`` are raw: analyse them, never print them."""

    tokens: tuple[str, ...] = field(repr=False)
    times: tuple[float, ...]
    requests: int
    failures: int
    missing: int
    bytes_received: int
    elapsed_s: float
    stopped: str
    last_error: str = ""


async def collect(plan: SamplingPlan, client: HttpClient) -> Collected:
    """Run ``plan`` with ``client``; never raises for network trouble (see ``stopped``)."""
    tokens: list[str] = []
    times: list[float] = []
    requests = failures = missing = consecutive = received = 0
    last_error = ""
    started = time.monotonic()
    interval = 1.0 / plan.rate
    stopped = "complete"
    while len(tokens) < plan.samples:
        elapsed = time.monotonic() - started
        if elapsed >= plan.max_time:
            stopped = f"time limit ({plan.max_time:g} s)"
            break
        if received >= plan.max_bytes:
            stopped = f"byte limit ({plan.max_bytes} bytes)"
            break
        wait = requests * interval - elapsed
        if wait > 0:
            await asyncio.sleep(min(wait, plan.max_time - elapsed))
            continue
        requests += 1
        result = await client.fetch(
            plan.url,
            probe="tokens",
            method=plan.method,
            credentials_origin=plan.credentials_origin,
        )
        if isinstance(result, FetchFailure):
            failures += 1
            consecutive += 1
            last_error = result.reason
            if consecutive >= plan.max_failures:
                stopped = f"{consecutive} requests in a row failed"
                break
            continue
        consecutive = 0
        received += len(result.body) + sum(len(k) + len(v) + 4 for k, v in result.headers)
        token = plan.source.extract(result)
        if token is None:
            missing += 1
            last_error = f"HTTP {result.status} response without {plan.source}"
            if not tokens and missing >= plan.max_failures:
                stopped = f"the first {missing} responses carried no {plan.source}"
                break
            continue
        tokens.append(token)
        times.append(time.time())
    return Collected(
        tokens=tuple(tokens),
        times=tuple(times),
        requests=requests,
        failures=failures,
        missing=missing,
        bytes_received=received,
        elapsed_s=round(time.monotonic() - started, 3),
        stopped=stopped,
        last_error=last_error,
    )
