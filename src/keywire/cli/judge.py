"""``keywire judge``: grade a scan's saved observations again, with no network.

``keywire scan --save-observations FILE`` keeps what the checks judged (see
:mod:`keywire.observations`); this command runs today's checks, the score and any report format
on it, and applies the configuration, baseline and gate like ``keywire scan``.
"""

from __future__ import annotations

from typing import Any

import click

from ._exit import EXIT_CODES_HELP, fail_usage
from ._labels import spec_labels
from ._messages import info, set_quiet
from ._options import configure_logging, load_settings, table_options
from ._report import emit


@click.command(
    "judge",
    epilog=EXIT_CODES_HELP,
    short_help="Grade saved observations again with today's rules, offline.",
)
@click.argument("file", type=click.Path(dir_okay=False))
@table_options("judge")
@click.pass_context
def judge_command(ctx: click.Context, /, file: str, **params: Any) -> None:
    """Judge FILE, the observations `keywire scan --save-observations FILE` saved: every check,
    the score and the report, from the file alone (no request is sent).

    Re-grade last month's scan with today's rules, compare two keywire versions on the same
    facts, or attach the file to a bug report: secrets, your header values and the canary
    were scrubbed when it was written.
    """
    from ..observations.file import ObservationsError, read
    from ..observations.judge import judge

    set_quiet(params["quiet"], params["verbose"])
    settings = load_settings(ctx, params)
    configure_logging(settings.values["verbose"])
    try:
        saved = read(file)
        report = judge(
            saved, config=settings.config, baseline=settings.baseline, gate=settings.gate
        )
    except ObservationsError as exc:
        fail_usage(f"cannot judge the observations: {exc}")
    when = saved.started_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    info(
        f"keywire: judging the observations keywire {saved.tool_version} saved on {when} "
        f"({len(saved.records)} target(s)); no request is sent"
    )
    emit(report, settings=settings, labels=spec_labels(report))
