"""Messages for people on stderr, and ``-q/--quiet``, which keeps only the ones that matter.

Quiet means: speak only when something is wrong. Progress, "using configuration", "report
written" and "gate passed" lines go; errors, warnings, targets not scanned and a failed or
incomplete gate stay (the exit code alone does not say why).
"""

from __future__ import annotations

import click

_QUIET = "keywire.quiet"


def set_quiet(quiet: bool) -> None:
    """Record ``-q`` for this invocation (click's context ``meta`` is shared by every level)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_QUIET] = bool(quiet)


def is_quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_QUIET))


def info(message: str) -> None:
    """An informational line on stderr, unless ``-q``."""
    if not is_quiet():
        click.echo(message, err=True)
