"""Messages for people on stderr, and ``-q/--quiet``, which keeps only the ones that matter.

Quiet means: speak only when something is wrong. Progress, "using configuration", "report
written" and "gate passed" lines go; errors, warnings, targets not scanned and a failed or
incomplete gate stay (the exit code alone does not say why).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import click

from ._exit import fail_usage

_QUIET = "keywire.quiet"


def set_quiet(quiet: bool, verbose: int = 0) -> None:
    """Record ``-q`` for this invocation (click's context ``meta`` is shared by every level)."""
    if quiet and verbose:
        fail_usage("-q/--quiet and -v/--verbose exclude each other")
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_QUIET] = bool(quiet)


def color_wanted(is_terminal: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to write ANSI colour: never when ``NO_COLOR`` is set and not empty
    (no-color.org), always when ``FORCE_COLOR`` is set and not empty (force-color.org; NO_COLOR
    wins over it), else only on a terminal.

    >>> color_wanted(True, {"NO_COLOR": ""}), color_wanted(False, {"FORCE_COLOR": "1"})
    (True, True)
    >>> color_wanted(True, {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    False
    """
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return is_terminal


def is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_QUIET))


def info(message: str) -> None:
    """An informational line on stderr, unless ``-q``."""
    if not is_quiet():
        click.echo(message, err=True)
