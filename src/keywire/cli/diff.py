"""``keywire diff [SCAN] [SCAN]``: new, fixed, unchanged and not re-tested findings."""

from __future__ import annotations

import sys

import click

from .._models import Severity
from ._exit import EXIT_GATE, fail_usage
from ._options import table_options
from ._store import normalised, open_store, say, write_output


@click.command("diff", short_help="New, fixed and unchanged findings between two stored scans.")
@click.argument("scans", nargs=-1, type=int, metavar="[SCAN] [SCAN]")
@table_options("diff")
def diff_command(
    scans: tuple[int, ...],
    store: str | None,
    targets: tuple[str, ...],
    fmt: str,
    output: str | None,
    fail_on: str,
) -> None:
    """New, fixed, unchanged and not re-tested findings between two scans.

    No SCAN: the last two scans of each target. One SCAN: each of its targets against that
    target's scan before. Two SCANs: the targets both scanned. `keywire history` shows the scan
    numbers.
    """
    from ..history.diff import DiffError, select
    from ..history.render_diff import render_diff

    if len(scans) > 2:
        fail_usage("diff compares at most two scans")
    wanted = [normalised(t) for t in targets]
    with open_store(store, create=False) as opened, opened.transaction() as tx:
        try:
            diff = select(tx, scans, targets=wanted, evidence=fmt == "json")
        except DiffError as exc:
            fail_usage(str(exc))
    write_output(render_diff(diff, fmt), output, "diff")
    if fail_on != "none":
        regressions = diff.new_at_or_above(Severity(fail_on))
        if regressions:
            say(f"{len(regressions)} new finding(s) at or above {fail_on}")
            sys.exit(EXIT_GATE)
