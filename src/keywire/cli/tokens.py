"""``keywire tokens``: collect or read issued tokens and judge their randomness."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click
from click.core import ParameterSource

from .._display import visible
from .._models import Severity
from ..targets import TargetError
from ..tokens.report import FORMATS as TOKEN_FORMATS
from ._exit import (
    EXIT_GATE,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_NOTHING_SCANNED,
    EXIT_OK,
    fail_usage,
)
from ._headers import parse_headers, protect_credentials
from ._options import (
    SEVERITY_CHOICES,
    check_ca_file,
    configure_logging,
)
from ._report import deliver, plan_outputs

_TOKEN_FILE_CAP = 64 * 1024 * 1024


def _parse_rate(text: str) -> float:
    value = text.strip().lower().removesuffix("/s").strip()
    try:
        rate = float(value)
    except ValueError:
        fail_usage(f"--rate takes requests per second, like 5 or 5/s, not {text!r}")
    return rate


def _parse_instant(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        fail_usage(f"--sampled-at takes Unix seconds or an ISO 8601 time, not {text!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _read_token_file(path: str) -> tuple[list[str], float | None]:
    """The file's lines (at most the analysis' limit) and its modification time."""
    from ..tokens.analysis import MAX_TOKENS

    try:
        if path == "-":
            data = sys.stdin.buffer.read(_TOKEN_FILE_CAP + 1)
            mtime = None
        else:
            with open(path, "rb") as handle:
                data = handle.read(_TOKEN_FILE_CAP + 1)
                mtime = os.fstat(handle.fileno()).st_mtime
    except OSError as exc:
        fail_usage(f"cannot read {path!r}: {exc.strerror or exc}")
    if len(data) > _TOKEN_FILE_CAP:
        click.echo(
            f"keywire: {path}: only the first {_TOKEN_FILE_CAP} bytes are analysed", err=True
        )
        data = data[:_TOKEN_FILE_CAP]
    lines = data.decode("utf-8", "replace").splitlines()[:MAX_TOKENS]
    return lines, mtime


def _token_lines(lines: list[str]) -> tuple[list[str], list[float] | None]:
    """Tokens of a file, and each one's time when every line gives one (``TOKEN<TAB>TIME``,
    Unix seconds or ISO 8601): the time it was issued, or received, as precisely as known."""
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not any("\t" in line for _, line in rows):
        return lines, None
    tokens: list[str] = []
    times: list[float] = []
    for number, line in rows:
        token, tab, when = line.partition("\t")
        moment = _instant_or_none(when) if tab else None
        if moment is None:
            fail_usage(
                f"line {number}: with a time on any line, every line must be TOKEN<TAB>TIME "
                "(Unix seconds or ISO 8601)"
            )
        tokens.append(token)
        times.append(moment)
    return tokens, times


def _instant_or_none(text: str) -> float | None:
    import math
    from datetime import datetime, timezone

    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) and value > 0 else None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@click.command("tokens")
@click.argument("url", required=False)
@click.option(
    "--from",
    "source_spec",
    metavar="SOURCE",
    help="Where the token is: cookie:NAME, header:NAME, json:PATH or body:REGEX.",
)
@click.option(
    "--samples",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Tokens to collect. Default: what every test needs for the tokens seen (100 first, "
    "then up to 2,000; e.g. 157 for 128-bit hex, 625 for 32-bit numbers).",
)
@click.option(
    "--method",
    type=click.Choice(["GET", "HEAD"]),
    default="GET",
    show_default=True,
    help="Request method (read-only methods only).",
)
@click.option("--rate", default="5", show_default=True, help="Requests per second (e.g. 5 or 5/s).")
@click.option(
    "--max-time",
    type=click.FloatRange(1, 86400),
    default=600.0,
    show_default=True,
    help="Stop collecting after this many seconds.",
)
@click.option(
    "--file",
    "token_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Analyse tokens from FILE (one per line, in issue order; '-' for stdin).",
)
@click.option(
    "--sampled-at",
    help="When the file's tokens were collected (Unix time or ISO 8601; default: the file's mtime).",
)
@click.option(
    "--time-window",
    type=click.FloatRange(0, 7 * 86400),
    default=3600.0,
    show_default=True,
    help="Seconds either side of the sampling time searched for time-seeded generators.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(1e-12, 0.1),
    default=1e-6,
    show_default=True,
    help="Family-wise significance level of the statistical tests.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(TOKEN_FORMATS),
    default="console",
    show_default=True,
    help="Report format written to stdout (or --output).",
)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    metavar="[FORMAT:]FILE",
    help="Write a report to FILE: in --format if given, else as FILE's extension says "
    "(.json .html .txt); FORMAT:FILE names the format ('-' is stdout). "
    "Repeat for several formats, e.g. -o tokens.json -o tokens.html.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITY_CHOICES),
    default="low",
    show_default=True,
    help="Exit 1 if any weakness is at least this severe ('none' disables).",
)
@click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Exit 0, not 3, when no weakness was found but some tests needed more samples.",
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help="'Name: value' credential header, sent only over verified HTTPS to the URL's origin.",
)
@click.option(
    "--ca-file", type=click.Path(dir_okay=False), help="Extra trusted CA certificates (PEM)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds per request.",
)
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug).")
def tokens_command(
    url: str | None,
    source_spec: str | None,
    samples: int | None,
    method: str,
    rate: str,
    max_time: float,
    token_file: str | None,
    sampled_at: str | None,
    time_window: float,
    alpha: float,
    fmt: str,
    outputs: tuple[str, ...],
    fail_on: str,
    allow_incomplete: bool,
    headers: tuple[str, ...],
    ca_file: str | None,
    timeout: float,
    verbose: int,
) -> None:
    """Collect tokens from URL (or read them from --file) and analyse their randomness.

    Exit codes: 0 no weakness at or above --fail-on and every test ran, 1 weakness, 2 usage
    error, 3 no tokens could be collected, or no weakness was found but some tests needed more
    samples (--allow-incomplete makes that 0), 130 interrupted before any token was collected.
    Ctrl-C during collection analyses the tokens collected so far.
    """
    import time

    from ..redact import redact_url
    from ..tokens import NoTokens, analyze
    from ..tokens.report import Collection, render
    from ..tokens.rules import findings as token_findings

    configure_logging(verbose)
    fmt_source = click.get_current_context().get_parameter_source("fmt")
    fmt_given = fmt_source not in (ParameterSource.DEFAULT, None)
    planned = plan_outputs(fmt, outputs, allowed=TOKEN_FORMATS, fmt_given=fmt_given)
    if (url is None) == (token_file is None):
        fail_usage("give either a URL to sample or --file with tokens, not both or neither")
    token_times: list[float] | None = None
    capture: dict[str, Any] = {}
    if samples is not None and token_file is not None:
        fail_usage("--samples is for a URL; --file analyses every token in the file")
    if url is not None:
        if not source_spec:
            fail_usage(
                "--from is required with a URL (cookie:NAME, header:NAME, json:PATH, body:REGEX)"
            )
        if sampled_at is not None:
            fail_usage("--sampled-at is for --file; live samples carry their own times")
        check_ca_file(ca_file)
        tokens, token_times, collection, capture = _collect_tokens(
            url,
            source_spec=source_spec,
            samples=samples,
            method=method,
            rate=_parse_rate(rate),
            max_time=max_time,
            headers=protect_credentials(parse_headers(headers)),
            ca_file=ca_file,
            timeout=timeout,
        )
        anchor = collection.sampled_at
        target, source = collection.target, collection.source
    else:
        assert token_file is not None
        if source_spec or headers:
            fail_usage("--from and --header apply to a URL, not to --file")
        lines, mtime = _read_token_file(token_file)
        tokens, token_times = _token_lines(lines)
        first = token_times[0] if token_times else None
        anchor = _parse_instant(sampled_at) if sampled_at else (first or mtime or time.time())
        from_stdin = token_file == "-"  # noqa: S105 (a path, not a password)
        target = "stdin" if from_stdin else f"file:{os.path.basename(token_file)}"
        source = "file"
        collection = Collection(
            target=target,
            source=source,
            requested=len(tokens),
            collected=sum(1 for t in tokens if t.strip()),
            sampled_at=anchor,
        )
    try:
        analysis = analyze(
            tokens,
            sampled_at=anchor,
            token_times=token_times,
            alpha=alpha,
            time_window=time_window,
            **capture,
        )
    except NoTokens:
        click.echo(f"keywire: no tokens to analyse from {visible(target)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    found = token_findings(analysis, target=target, source=source)
    for output in planned:
        deliver(output, render(analysis, collection, found, output.fmt))
    rerun = f"; rerun with --samples {analysis.samples_wanted}" if not analysis.complete else ""
    line = f"{redact_url(target)}: {analysis.summary()}{rerun}"
    click.echo(f"keywire: {visible(line)}", err=True)
    if fail_on != "none" and any(f.severity >= Severity(fail_on) for f in found):
        sys.exit(EXIT_GATE)
    if not analysis.complete and not allow_incomplete:
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(EXIT_OK)


def _collect_tokens(
    url: str,
    *,
    source_spec: str,
    samples: int | None,
    method: str,
    rate: float,
    max_time: float,
    headers: Mapping[str, str],
    ca_file: str | None,
    timeout: float,
) -> tuple[list[str], list[float], Any, dict[str, Any]]:
    import asyncio
    import time

    from .._scanner import CREDENTIAL_HEADER_ALLOWLIST
    from ..net.http import ClientSettings, HttpClient
    from ..redact import redact_url
    from ..targets import parse_target
    from ..tokens.report import Collection
    from ..tokens.sampling import (
        AUTO_FIRST_BATCH,
        AUTO_MAX_SAMPLES,
        SamplingPlan,
        SamplingState,
        SourceError,
        collect,
        parse_source,
    )

    try:
        target = parse_target(url)
        source = parse_source(source_spec)
    except (TargetError, SourceError) as exc:
        fail_usage(str(exc))
    for name in headers:
        lowered = name.lower()
        if lowered not in CREDENTIAL_HEADER_ALLOWLIST and not lowered.startswith("x-"):
            fail_usage(f"header {name!r} is not sent: only Authorization, Cookie and X-* headers")
    if headers and target.scheme != "https":
        fail_usage("--header credentials are only sent over verified HTTPS; the URL is http://")
    try:
        plan = SamplingPlan(
            url=target.url,
            source=source,
            samples=samples or AUTO_FIRST_BATCH,
            method=method,
            rate=rate,
            max_time=max_time,
            credentials_origin=target.credentials_origin if headers else None,
            auto=samples is None,
            max_samples=AUTO_MAX_SAMPLES if samples is None else samples,
        )
    except ValueError as exc:
        fail_usage(str(exc))
    settings = ClientSettings(
        timeout=timeout, body_cap=256 * 1024, per_host=1, ca_file=ca_file, credentials=headers
    )
    shown = redact_url(target.url)
    how_many = (
        f"{samples} token(s)"
        if samples is not None
        else f"tokens (as many as the tests need, {AUTO_FIRST_BATCH} to {AUTO_MAX_SAMPLES})"
    )
    click.echo(
        f"keywire: collecting {how_many} from {shown} ({source}) at up to {rate:g}/s", err=True
    )
    state = SamplingState()
    show = _ProgressLine() if sys.stderr.isatty() else None

    async def run() -> Any:
        async with HttpClient(settings) as client:
            return await collect(plan, client, state=state, progress=show)

    started = time.time()
    try:
        collected = asyncio.run(run())
    except KeyboardInterrupt:
        collected = state.result("interrupted (Ctrl-C)")
        if show is not None:
            show.done()
        if not collected.tokens:
            click.echo("keywire: interrupted before any token was collected", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo(
            f"keywire: interrupted: analysing the {len(collected.tokens)} token(s) collected",
            err=True,
        )
    if show is not None:
        show.done()
    click.echo(
        f"keywire: collected {len(collected.tokens)} token(s) in {collected.requests} "
        f"request(s), {collected.elapsed_s:g} s ({collected.stopped})",
        err=True,
    )
    if not collected.tokens:
        reason = collected.last_error or collected.stopped
        click.echo(f"keywire: could not collect any token: {visible(reason)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    collection = Collection(
        target=shown,
        source=str(source),
        requested=max(collected.target, len(collected.tokens)),
        collected=len(collected.tokens),
        requests=collected.requests,
        failures=collected.failures,
        missing=collected.missing,
        elapsed_s=collected.elapsed_s,
        stopped=collected.stopped,
        sampled_at=started,
    )
    capture = {"sent_times": collected.sent_times, "server_dates": collected.server_dates}
    return list(collected.tokens), list(collected.times), collection, capture


class _ProgressLine:
    """``collected 123/157 token(s)`` on one terminal line, redrawn at most 5 times a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._shown = False

    def __call__(self, state: Any) -> None:
        import time

        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self._shown = True
        click.echo(
            f"\rkeywire: collected {len(state.tokens)}/{state.target} token(s), "
            f"{state.requests} request(s)\x1b[K",
            err=True,
            nl=False,
        )

    def done(self) -> None:
        if self._shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._shown = False
