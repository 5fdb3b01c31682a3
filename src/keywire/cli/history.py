"""``keywire history [TARGET]``: grade and score over time, from the store."""

from __future__ import annotations

import click

from ._exit import fail_usage
from ._options import table_options
from ._store import normalised, open_store, write_output


@click.command("history", short_help="Grades and scores over time, from the history store.")
@click.argument("target", required=False)
@table_options("history")
def history_command(
    target: str | None, store: str | None, fmt: str, limit: int, output: str | None
) -> None:
    """Grade and score over time: every API in the store, or TARGET scan by scan."""
    from ..history.render import TargetHistory, render_history

    with open_store(store, create=False) as opened, opened.transaction() as tx:
        rows = {row.url: row for row in tx.targets()}
        if target is not None:
            url = normalised(target)
            if url not in rows:
                fail_usage(
                    f"the store has no result for {url}; `keywire history` lists its targets"
                )
            urls = [url]
        else:
            urls = list(rows)
        histories = [
            TargetHistory(
                target=u,
                results=tuple(tx.history(u, limit=limit, evidence=False)),
                total=rows[u].results,
            )
            for u in urls
        ]
    write_output(render_history(histories, fmt, detailed=target is not None), output, "history")
