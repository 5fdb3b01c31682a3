"""Rendering, delivering and gating a finished report: the end of ``scan`` and ``demo``."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from .. import outputs as outputs_module
from .._display import visible
from .._models import ScanReport
from ..gate import GateResult, evaluate
from ..outputs import Output
from ..reporters import FORMATS
from ._exit import (
    EXIT_GATE,
    EXIT_INCOMPLETE,
    EXIT_NOTHING_SCANNED,
    EXIT_OK,
    fail_usage,
    stdout_lost,
)
from ._messages import color_wanted, info

if TYPE_CHECKING:
    from ._options import Settings

Label = str | tuple[str, ...]
"""A console label under a target: one line, or several (each made visible by the console)."""


def render_for(
    report: ScanReport,
    fmt: str,
    *,
    to_terminal: bool,
    labels: Mapping[str, Label],
    framework: str | None = None,
) -> str:
    if fmt != "console":
        from ..reporters import render

        return render(report, fmt, framework=framework)
    from ..reporters import console

    width = console.report_width(terminal=to_terminal)  # COLUMNS, the terminal's, or 100
    if color_wanted(to_terminal):
        return console.render_rich(report, labels=labels, width=width, framework=framework)
    return console.render_plain(report, labels=labels, width=width, framework=framework)


def plan_outputs(
    fmt: str, values: Sequence[str], allowed: Sequence[str] = FORMATS, *, fmt_given: bool = False
) -> list[Output]:
    """Where each report goes, every file checked before anything is scanned (usage errors)."""
    try:
        outputs = outputs_module.plan_outputs(fmt, values, allowed, fmt_given=fmt_given)
        for output in outputs:
            outputs_module.check_output(output)
    except outputs_module.OutputError as exc:
        fail_usage(str(exc))
    return outputs


def deliver(output: Output, text: str, *, color: bool = False) -> None:
    """Write one report to stdout or, atomically, to its file. ``color``: the text holds ANSI
    colour meant to reach a pipe too (``FORCE_COLOR``), which click would otherwise strip."""
    if output.path == "-":
        try:
            click.echo(text, nl=False, color=True if color else None)
        except OSError as exc:  # a full disk, a closed pipe: one line, not a traceback
            stdout_lost()
            fail_usage(f"cannot write the report to stdout: {exc.strerror or exc}")
        return
    try:
        outputs_module.write_atomically(output.path, text)
    except OSError as exc:
        fail_usage(f"cannot write {output.path!r}: {exc.strerror or exc}")
    info(f"keywire: {output.fmt} report written to {output.path}")


def _gate_exit(report: ScanReport) -> tuple[int, str]:
    return gate_exit(evaluate(report), scanned_any=report.scanned_any)


def gate_exit(result: GateResult, *, scanned_any: bool) -> tuple[int, str]:
    """The exit code and the closing line, as :data:`~keywire.cli._exit.EXIT_CODES_HELP` lays
    them out."""
    if not scanned_any:
        return EXIT_NOTHING_SCANNED, "nothing could be scanned"
    if result.findings_failed:
        reasons = [r for r in result.reasons if not r.startswith("the scan is incomplete")]
        message = "gate failed: " + "; ".join(reasons)
        if result.incomplete:
            message += f" (the scan is also incomplete: {result.incomplete})"
        return EXIT_GATE, message
    if not result.passed:
        return EXIT_INCOMPLETE, (
            f"incomplete scan: {result.incomplete}; nothing at or above the gate was found in "
            "what was tested (exit 3; --allow-incomplete judges only what was tested)"
        )
    if result.incomplete:
        return EXIT_OK, f"gate passed on an incomplete scan ({result.incomplete}; allowed)"
    return EXIT_OK, "gate passed"


def emit(
    report: ScanReport,
    *,
    settings: Settings,
    labels: Mapping[str, Label] | None = None,
    epilogue: str | None = None,
) -> NoReturn:
    """Write the finished report (the scan applied the policy, baseline and gate: see
    :func:`keywire.finish_report`) everywhere it goes, say what the user must know on stderr,
    and exit with the gate's code."""
    for output in settings.outputs:
        to_terminal = output.path == "-" and sys.stdout.isatty()
        text = render_for(
            report,
            output.fmt,
            to_terminal=to_terminal,
            labels=labels or {},
            framework=settings.values.get("framework"),
        )
        deliver(output, text, color=output.fmt == "console" and color_wanted(to_terminal))
    for target in report.targets:
        if not target.scanned:
            click.echo(
                f"keywire: {visible(f'{target.target}: not scanned: {target.error}')}", err=True
            )
    for notice in report.notices:
        click.echo(f"keywire: warning: {visible(notice)}", err=True)
    if epilogue:
        info(f"keywire: {epilogue}")
    code, message = _gate_exit(report)
    if code == EXIT_OK:
        info(f"keywire: {message}")
    else:  # why it failed is kept under -q: the exit code alone does not say
        click.echo(f"keywire: {message}", err=True)
    sys.exit(code)
