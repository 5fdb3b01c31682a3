"""``keywire report``: the fleet overview from the store (HTML or JSON)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ._options import table_options
from ._store import open_store, write_output


@click.command("report", short_help="The fleet overview (HTML or JSON) from the history store.")
@table_options("report")
def report_command(store: str | None, fmt: str, output: str | None) -> None:
    """The fleet overview from the store: every API's grade and trend, the certificates expiring
    soonest, the newest regressions (a self-contained HTML page, or JSON)."""
    from ..history.fleet import build_fleet, render_fleet

    with open_store(store, create=False) as opened, opened.transaction() as tx:
        fleet = build_fleet(tx, now=datetime.now(timezone.utc))
    write_output(render_fleet(fleet, fmt), output, f"{fmt} fleet overview")
