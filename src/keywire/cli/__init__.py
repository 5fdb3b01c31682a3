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
import importlib
from typing import Any

import click

from .. import __version__, _gcpause
from ._exit import EXIT_INTERRUPTED, fail_usage, quick_exit, stdout_lost

# Each command lives in its own module, imported when the command runs (or when help lists it):
# a scan does not pay for the modules of watch, worker, mcp or the demo's lab.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("scan", "scan_command"),
    "demo": ("demo", "demo_command"),
    "judge": ("judge", "judge_command"),
    "rules": ("rules", "rules_command"),
    "tokens": ("tokens", "tokens_command"),
    "watch": ("watch", "watch_command"),
    "history": ("history", "history_command"),
    "diff": ("diff", "diff_command"),
    "report": ("report", "report_command"),
    "lint-spec": ("lint_spec", "lint_spec_command"),
    "mcp": ("mcp", "mcp_command"),
    "worker": ("worker", "worker_command"),
    "completion": ("completion", "completion_command"),
}


class _Keywire(click.Group):
    """The command group: commands load on first use (:data:`COMMANDS`); a stdout that cannot be
    written ends in one line and exit 2; Ctrl-C anywhere ends with exit code 130, not click's
    "Aborted!" (1)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, name = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"{__name__}.{module}"), name)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO):
                raise
            stdout_lost()
            fail_usage(f"cannot write the output: {exc.strerror or exc}")

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name != "scan":
            _gcpause.resume()  # a scan resumes it after its first target (keywire._scanner)
        return name, command, rest

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


def run() -> None:
    """The ``keywire`` executable: :func:`main`, then :func:`~keywire.cli._exit.quick_exit`.

    The garbage collector is paused while it starts (:mod:`keywire._gcpause`).
    """
    _gcpause.pause()
    try:
        main(prog_name="keywire")
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            raise  # a message for the interpreter to print
        quick_exit(exc.code or 0)
    quick_exit(0)


__all__ = ["main", "run"]
