"""The ``keywire`` command line.

One module per command (``scan``, ``demo``, ``judge``, ``rules``, ``tokens``, and for the history store
``watch``, ``history``, ``diff``, ``report``); each parses its options and calls the library. stdout carries the report and nothing else; progress and messages go to
stderr. Exit codes (:mod:`keywire.cli._exit`): 0 the gate passed on a complete scan, 1 findings or the score failed the gate,
2 usage or configuration error, 3 nothing could be scanned or the scan is incomplete (unless
``--allow-incomplete``), 130 interrupted (Ctrl-C).

Options come from the command line, else from the configuration file (``keywire.toml`` or
``[tool.keywire]``, see :mod:`keywire.config`), else from the defaults of the option table
(:mod:`keywire.options`, the one place an option is declared). Reports go to
stdout in ``--format``, and to files with ``--output FILE`` (in ``--format`` if given, else as
FILE's extension says) or ``--output FORMAT:FILE`` (repeatable, any format; ``-`` as FILE means
stdout); see :mod:`keywire.outputs`.
"""

from __future__ import annotations

import errno
from typing import Any

import click

from .. import __version__
from ._exit import EXIT_INTERRUPTED, fail_usage, stdout_lost
from .completion import completion_command
from .demo import demo_command
from .diff import diff_command
from .history import history_command
from .judge import judge_command
from .lint_spec import lint_spec_command
from .mcp import mcp_command
from .report import report_command
from .rules import rules_command
from .scan import scan_command
from .tokens import tokens_command
from .watch import watch_command
from .worker import worker_command


class _Keywire(click.Group):
    """The command group: a stdout that cannot be written ends in one line and exit 2; Ctrl-C
    anywhere ends with exit code 130, not click's "Aborted!" (1)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO):
                raise
            stdout_lost()
            fail_usage(f"cannot write the output: {exc.strerror or exc}")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\nkeywire: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=_Keywire, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keywire")
def main() -> None:
    """keywire: can someone on the wire steal your API's keys?"""


for _command in (
    scan_command,
    demo_command,
    judge_command,
    rules_command,
    tokens_command,
    watch_command,
    history_command,
    diff_command,
    report_command,
    lint_spec_command,
    mcp_command,
    worker_command,
    completion_command,
):
    main.add_command(_command)

__all__ = ["main"]
