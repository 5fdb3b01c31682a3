"""``keywire tokens``: collect or read issued tokens and judge their randomness.

The work is the library's (:mod:`keywire.tokens.intake` takes the tokens, :mod:`keywire.tokens`
analyses them); this module parses the options, shows progress and picks the exit code.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from .._display import visible
from ._exit import (
    EXIT_GATE,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_NOTHING_SCANNED,
    EXIT_OK,
    fail_usage,
)
from ._headers import parse_headers, protect_credentials
from ._messages import info, set_quiet
from ._options import check_ca_file, configure_logging, format_given, table_options
from ._report import deliver, plan_outputs

if TYPE_CHECKING:
    from ..tokens.intake import TakenTokens


@click.command("tokens", short_help="Collect or read issued tokens and judge their randomness.")
@click.argument("url", required=False)
@table_options("tokens")
@click.pass_context
def tokens_command(ctx: click.Context, /, url: str | None, **values: Any) -> None:
    """Collect tokens from URL (or read them from --file) and analyse their randomness.

    Exit codes: 0 no weakness at or above --fail-on and every test ran, 1 weakness, 2 usage
    error, 3 no tokens could be collected, or no weakness was found but some tests needed more
    samples (--allow-incomplete makes that 0), 130 interrupted before any token was collected.
    Ctrl-C during collection analyses the tokens collected so far.
    """
    from .._models import Severity
    from ..redact import redact_url
    from ..tokens import NoTokens
    from ..tokens.intake import TokenInputError, parse_rate, read_token_file
    from ..tokens.report import FORMATS, render
    from ..tokens.rules import findings as token_findings

    set_quiet(values["quiet"], values["verbose"])
    configure_logging(values["verbose"])
    planned = plan_outputs(
        values["fmt"], values["outputs"], allowed=FORMATS, fmt_given=format_given(ctx)
    )
    token_file, sampled_at = values["token_file"], values["sampled_at"]
    if (url is None) == (token_file is None):
        fail_usage("give either a URL to sample or --file with tokens, not both or neither")
    if values["samples"] is not None and token_file is not None:
        fail_usage("--samples is for a URL; --file analyses every token in the file")
    try:
        if url is not None:
            if not values["source_spec"]:
                fail_usage(
                    "--from is required with a URL (cookie:NAME, header:NAME, json:PATH, "
                    "body:REGEX)"
                )
            if sampled_at is not None:
                fail_usage("--sampled-at is for --file; live samples carry their own times")
            check_ca_file(values["ca_file"])
            taken = _sample(url, values, rate=parse_rate(values["rate"]))
        else:
            if values["source_spec"] or values["headers"]:
                fail_usage("--from and --header apply to a URL, not to --file")
            taken = read_token_file(token_file, sampled_at=sampled_at)
            for note in taken.notes:
                click.echo(f"keywire: {visible(note)}", err=True)
    except TokenInputError as exc:
        fail_usage(str(exc))
    target, source = taken.collection.target, taken.collection.source
    try:
        analysis = taken.analyze(alpha=values["alpha"], time_window=values["time_window"])
    except NoTokens:
        click.echo(f"keywire: no tokens to analyse from {visible(target)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    found = token_findings(analysis, target=target, source=source)
    for output in planned:
        deliver(output, render(analysis, taken.collection, found, output.fmt))
    rerun = f"; rerun with --samples {analysis.samples_wanted}" if not analysis.complete else ""
    line = f"{redact_url(target)}: {analysis.summary()}{rerun}"
    info(f"keywire: {visible(line)}")
    fail_on = values["fail_on"]
    if fail_on != "none" and any(f.severity >= Severity(fail_on) for f in found):
        sys.exit(EXIT_GATE)
    if not analysis.complete and not values["allow_incomplete"]:
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(EXIT_OK)


def _sample(url: str, values: dict[str, Any], *, rate: float) -> TakenTokens:
    """Collect the tokens ``url`` issues, with a progress line on a terminal; Ctrl-C keeps what
    was collected."""
    from ..tokens.intake import TokenSampler

    sampler = TokenSampler(
        url,
        source=values["source_spec"],
        samples=values["samples"],
        method=values["method"],
        rate=rate,
        max_time=values["max_time"],
        headers=protect_credentials(parse_headers(values["headers"])),
        ca_file=values["ca_file"],
        timeout=values["timeout"],
    )
    info(f"keywire: {sampler.describe()}")
    show = _ProgressLine() if sys.stderr.isatty() and not values["quiet"] else None
    try:
        taken = sampler.run(progress=show)
    except KeyboardInterrupt:
        taken = sampler.partial("interrupted (Ctrl-C)")
        if show is not None:
            show.done()
        if not taken.tokens:
            click.echo("keywire: interrupted before any token was collected", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo(
            f"keywire: interrupted: analysing the {len(taken.tokens)} token(s) collected",
            err=True,
        )
    if show is not None:
        show.done()
    collection = taken.collection
    info(
        f"keywire: collected {collection.collected} token(s) in {collection.requests} "
        f"request(s), {collection.elapsed_s:g} s ({collection.stopped})"
    )
    if not taken.tokens:
        reason = taken.last_error or collection.stopped
        click.echo(f"keywire: could not collect any token: {visible(reason)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    return taken


class _ProgressLine:
    """``collected 123/157 token(s)`` on one terminal line, redrawn at most 5 times a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._shown = False

    def __call__(self, state: Any) -> None:
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
