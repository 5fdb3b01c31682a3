"""``keywire demo``: the seed's vulnerable API and its fix, scanned on loopback."""

from __future__ import annotations

from typing import Any

import click

from ..scanoptions import scan_options
from ._exit import EXIT_CODES_HELP, fail_usage
from ._messages import info, set_quiet
from ._options import configure_logging, load_settings, table_options
from ._report import emit


@click.command(
    "demo",
    epilog=EXIT_CODES_HELP,
    short_help="Scan a vulnerable lab API and its flask_keywire fix, offline.",
)
@table_options("demo")
@click.pass_context
def demo_command(ctx: click.Context, /, **params: Any) -> None:
    """Scan the seed's vulnerable API and its flask_keywire fix on 127.0.0.1 (F → A, offline).

    It exits 1, as a CI job would on the seed: the seed's findings fail the default gate
    (--fail-on high). With --fail-on none it exits 0.
    """
    from ..demo import DemoUnavailable, closing_line, run_demo

    set_quiet(params["quiet"], params["verbose"])
    settings = load_settings(ctx, params)
    values = settings.values
    configure_logging(values["verbose"])
    info("keywire: starting the demo lab on 127.0.0.1 …")
    try:
        report, labels = run_demo(
            scan_options(values),
            config=settings.config,
            baseline=settings.baseline,
            gate=settings.gate,
        )
    except DemoUnavailable as exc:
        fail_usage(str(exc))
    emit(report, settings=settings, labels=labels, epilogue=closing_line(report, labels))
