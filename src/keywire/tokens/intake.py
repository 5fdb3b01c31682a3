"""Where the analysed tokens come from: sampled live from a URL, or read from a file.

``keywire tokens`` is a thin wrapper around this module, and library users get the same
behaviour: the same limits, the same checks of the input (:class:`TokenInputError`, whose
message never quotes a credential), the same report metadata (:class:`~keywire.tokens.report.
Collection`).

>>> taken = read_token_file("tokens.txt")  # doctest: +SKIP
>>> analysis = taken.analyze()  # doctest: +SKIP

>>> sampler = TokenSampler("https://api.example.com/login", source="cookie:session")  # doctest: +SKIP
>>> taken = sampler.run()  # doctest: +SKIP

A file holds one token per line, in issue order; with a tab on any line, every line is
``TOKEN<TAB>TIME`` (Unix seconds or ISO 8601), the time it was issued or received.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, BinaryIO

from .._dataclass import dataclass
from ..credentials import check_credential_headers
from ..redact import redact_url
from ..targets import TargetError, parse_target
from .analysis import MAX_TOKENS
from .report import Collection
from .sampling import (
    AUTO_FIRST_BATCH,
    AUTO_MAX_SAMPLES,
    DEFAULT_MAX_TIME,
    DEFAULT_RATE,
    Collected,
    SamplingPlan,
    SamplingState,
    SourceError,
    collect,
    parse_source,
)
from .stats import DEFAULT_ALPHA

if TYPE_CHECKING:
    from ..net.resolver import Resolver
    from ._model import TokenAnalysis

#: At most this much of a token file is read (the rest is ignored, and said so).
FILE_CAP = 64 * 1024 * 1024
#: Token sampling reads bounded bodies: a token is never far in.
SAMPLING_BODY_CAP = 256 * 1024


class TokenInputError(ValueError):
    """The tokens cannot be taken as asked (a bad URL, source, rate, time or file)."""


@dataclass(frozen=True, kw_only=True)
class TakenTokens:
    """Tokens ready for analysis, and where they came from. ``tokens`` are raw: analyse them,
    never print them."""

    tokens: tuple[str, ...] = field(repr=False)
    #: Each token's time (Unix seconds), when known for every one.
    times: tuple[float, ...] | None
    collection: Collection
    #: Live samples: when each request left, and each response's ``Date``.
    sent_times: tuple[float, ...] | None = None
    server_dates: tuple[float | None, ...] | None = None
    #: Live samples: the last failure, when collection stopped on one.
    last_error: str = ""
    #: Things the user should know (e.g. a file read only in part).
    notes: tuple[str, ...] = ()

    def analyze(
        self, *, alpha: float = DEFAULT_ALPHA, time_window: float = 3600.0
    ) -> TokenAnalysis:
        """:func:`keywire.tokens.analyze` with everything known about these tokens."""
        from .analysis import analyze

        return analyze(
            self.tokens,
            sampled_at=self.collection.sampled_at,
            token_times=self.times,
            alpha=alpha,
            time_window=time_window,
            sent_times=self.sent_times,
            server_dates=self.server_dates,
        )


def parse_rate(text: str) -> float:
    """Requests per second from ``5`` or ``5/s``."""
    value = text.strip().lower().removesuffix("/s").strip()
    try:
        return float(value)
    except ValueError:
        raise TokenInputError(
            f"--rate takes requests per second, like 5 or 5/s, not {text!r}"
        ) from None


def parse_instant(text: str) -> float:
    """Unix seconds from Unix seconds or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        return float(text)
    except ValueError:
        pass
    moment = _iso_instant(text)
    if moment is None:
        raise TokenInputError(f"--sampled-at takes Unix seconds or an ISO 8601 time, not {text!r}")
    return moment


def _iso_instant(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _instant_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return _iso_instant(text)
    return value if math.isfinite(value) and value > 0 else None


def token_lines(lines: Sequence[str]) -> tuple[list[str], list[float] | None]:
    """Tokens of a file's lines, and each one's time when every line gives one
    (``TOKEN<TAB>TIME``, Unix seconds or ISO 8601): the time it was issued, or received, as
    precisely as known."""
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not any("\t" in line for _, line in rows):
        return list(lines), None
    tokens: list[str] = []
    times: list[float] = []
    for number, line in rows:
        token, tab, when = line.partition("\t")
        moment = _instant_or_none(when) if tab else None
        if moment is None:
            raise TokenInputError(
                f"line {number}: with a time on any line, every line must be TOKEN<TAB>TIME "
                "(Unix seconds or ISO 8601)"
            )
        tokens.append(token)
        times.append(moment)
    return tokens, times


def read_token_file(
    path: str, *, sampled_at: str | None = None, stdin: BinaryIO | None = None
) -> TakenTokens:
    """The tokens of file ``path`` (``-``: standard input), at most :data:`FILE_CAP` bytes and
    the analysis' limit of lines.

    The tokens were made around ``sampled_at`` (Unix seconds or ISO 8601) if given, else the
    first line's time, else the file's modification time, else now.
    """
    try:
        if path == "-":
            data = (stdin or sys.stdin.buffer).read(FILE_CAP + 1)
            mtime = None
        else:
            with open(path, "rb") as handle:
                data = handle.read(FILE_CAP + 1)
                mtime = os.fstat(handle.fileno()).st_mtime
    except OSError as exc:
        raise TokenInputError(f"cannot read {path!r}: {exc.strerror or exc}") from exc
    notes = []
    if len(data) > FILE_CAP:
        notes.append(f"{path}: only the first {FILE_CAP} bytes are analysed")
        data = data[:FILE_CAP]
    lines = data.decode("utf-8", "replace").splitlines()[:MAX_TOKENS]
    tokens, times = token_lines(lines)
    first = times[0] if times else None
    anchor = parse_instant(sampled_at) if sampled_at else (first or mtime or time.time())
    from_stdin = path == "-"
    target = "stdin" if from_stdin else f"file:{os.path.basename(path)}"
    return TakenTokens(
        tokens=tuple(tokens),
        times=tuple(times) if times is not None else None,
        collection=Collection(
            target=target,
            source="file",
            requested=len(tokens),
            collected=sum(1 for t in tokens if t.strip()),
            sampled_at=anchor,
        ),
        notes=tuple(notes),
    )


class TokenSampler:
    """Collects the tokens ``url`` issues, at a polite rate, within ``max_time``.

    ``source`` says where each response holds the token (``cookie:NAME``, ``header:NAME``,
    ``json:PATH``, ``body:REGEX``). Without ``samples``, collection takes what every test needs
    for the tokens seen (a first batch of 100, then up to 2,000). ``headers`` are credentials:
    sent only over verified HTTPS to the URL's origin. Everything is checked here, before any
    traffic (:class:`TokenInputError`).
    """

    def __init__(
        self,
        url: str,
        *,
        source: str,
        samples: int | None = None,
        method: str = "GET",
        rate: float = DEFAULT_RATE,
        max_time: float = DEFAULT_MAX_TIME,
        headers: Mapping[str, str] | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        resolver: Resolver | None = None,
    ) -> None:
        from ..net.http import ClientSettings

        headers = dict(headers or {})
        try:
            target = parse_target(url)
            parsed_source = parse_source(source)
            check_credential_headers(headers)
        except (TargetError, SourceError, ValueError) as exc:
            raise TokenInputError(str(exc)) from exc
        if headers and target.scheme != "https":
            raise TokenInputError(
                "--header credentials are only sent over verified HTTPS; the URL is http://"
            )
        try:
            self.plan = SamplingPlan(
                url=target.url,
                source=parsed_source,
                samples=samples or AUTO_FIRST_BATCH,
                method=method,
                rate=rate,
                max_time=max_time,
                credentials_origin=target.credentials_origin if headers else None,
                auto=samples is None,
                max_samples=AUTO_MAX_SAMPLES if samples is None else samples,
            )
        except ValueError as exc:
            raise TokenInputError(str(exc)) from exc
        self.settings = ClientSettings(
            timeout=timeout,
            body_cap=SAMPLING_BODY_CAP,
            per_host=1,
            ca_file=ca_file,
            credentials=headers,
        )
        self.resolver = resolver
        self.shown = redact_url(target.url)
        self.samples = samples
        #: Updated as tokens arrive: :meth:`partial` reads it after an interruption.
        self.state = SamplingState()
        self._started = time.time()

    def describe(self) -> str:
        """What is about to happen, in one line (no credential)."""
        how_many = (
            f"{self.samples} token(s)"
            if self.samples is not None
            else f"tokens (as many as the tests need, {AUTO_FIRST_BATCH} to {AUTO_MAX_SAMPLES})"
        )
        return (
            f"collecting {how_many} from {self.shown} ({self.plan.source}) at up to "
            f"{self.plan.rate:g}/s"
        )

    async def run_async(
        self, *, progress: Callable[[SamplingState], None] | None = None
    ) -> TakenTokens:
        """Collect; never raises for network trouble (see ``collection.stopped``)."""
        from ..net.http import HttpClient

        self._started = time.time()
        async with HttpClient(self.settings, resolver=self.resolver) as client:
            collected = await collect(self.plan, client, state=self.state, progress=progress)
        return self._taken(collected)

    def run(self, *, progress: Callable[[SamplingState], None] | None = None) -> TakenTokens:
        """:meth:`run_async`, synchronously. On Ctrl-C, :meth:`partial` has what arrived."""
        return asyncio.run(self.run_async(progress=progress))

    def partial(self, why: str) -> TakenTokens:
        """What was collected so far (after an interruption), stopped for ``why``."""
        return self._taken(self.state.result(why))

    def _taken(self, collected: Collected) -> TakenTokens:
        return TakenTokens(
            tokens=collected.tokens,
            times=collected.times,
            collection=Collection(
                target=self.shown,
                source=str(self.plan.source),
                requested=max(collected.target, len(collected.tokens)),
                collected=len(collected.tokens),
                requests=collected.requests,
                failures=collected.failures,
                missing=collected.missing,
                elapsed_s=collected.elapsed_s,
                stopped=collected.stopped,
                sampled_at=self._started,
            ),
            sent_times=collected.sent_times,
            server_dates=collected.server_dates,
            last_error=collected.last_error,
        )
