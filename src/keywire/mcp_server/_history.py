"""The MCP server and the history store: each scan recorded, two stored scans compared.

``scan_api`` records its scans in the store ``keywire scan`` uses (``--store``,
``$KEYWIRE_STORE`` or the default location; not with ``--no-store``), and ``diff_scans`` shows
``keywire diff`` for the targets on the allowlist only: the model sees what the user lets it scan.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from .._display import visible
from ._render import UntrustedBlock, quote
from .policy import PolicyError, normalise_url
from .tools import McpContext, ToolError

if TYPE_CHECKING:
    from .._models import ScanReport


def _store_path(ctx: McpContext) -> Path:
    from ..store import default_path

    return ctx.store if ctx.store is not None else default_path(ctx.environ)


def record(ctx: McpContext, report: ScanReport) -> str:
    """Record ``report`` in the history store; a line saying so (or why not)."""
    if not ctx.record:
        return ""
    from ..store import Store, StoreError, record_report

    try:
        with Store.open(_store_path(ctx), create=True, check=False) as store:
            scan_id, _ = record_report(store, report, source="mcp")
    except (StoreError, OSError) as exc:
        return f"Not recorded in the history store: {visible(str(exc))[:200]}"
    return f"Recorded in the history store as scan {scan_id} (diff_scans compares scans)."


def diff_scans(
    ctx: McpContext,
    before: int | None = None,
    after: int | None = None,
    target: str | None = None,
) -> str:
    """New, fixed and unchanged findings between two stored scans (``keywire diff``), for the
    targets on the allowlist only: the model sees what the user lets it scan."""
    from ..history.diff import DiffError, select
    from ..history.render_diff import render_diff
    from ..store import Store, StoreError

    scans = [n for n in (before, after) if n is not None]
    if after is not None and before is None:
        raise ToolError("give before (and after), or neither")
    wanted: list[str] = []
    if target is not None:
        try:
            normal, query = normalise_url(target, what="target")
        except PolicyError as exc:
            raise ToolError(f"refused: {quote(target, 200)} ({exc})") from None
        if not ctx.policy.allow.permits(normal):
            raise ToolError(f"refused: {quote(target, 200)} is not on the allowlist")
        wanted = [str(normal) + (f"?{query}" if query else "")]
    try:
        with (
            Store.open(_store_path(ctx), create=False, check=False) as store,
            store.transaction() as tx,
        ):
            diff = select(tx, scans, targets=wanted, evidence=False)
    except StoreError as exc:
        raise ToolError(f"no usable history store: {visible(str(exc))[:300]}") from None
    except DiffError as exc:
        raise ToolError(visible(str(exc))[:300]) from None
    shown = tuple(t for t in diff.targets if ctx.policy.allow.permits(t.target))
    hidden = len(diff.targets) - len(shown)
    diff = dataclasses.replace(
        diff,
        targets=shown,
        only_before=tuple(s for s in diff.only_before if ctx.policy.allow.permits(s.target)),
    )
    new = sum(len(t.new) for t in shown)
    fixed = sum(len(t.fixed) for t in shown)
    dropped = sum(1 for t in shown if t.grade_change == "dropped")
    lines = [
        f"keywire compared {len(shown)} target(s): {new} new finding(s), {fixed} fixed; "
        f"the grade dropped on {dropped}."
    ]
    if hidden:
        lines.append(f"{hidden} other target(s) in the store are not on the allowlist: not shown.")
    block = UntrustedBlock()
    block.heading("[keywire diff; URLs and messages come from the scanned servers]")
    for line in render_diff(diff, "console").splitlines():
        block.add("line", line)
    return "\n".join([*lines, "", *block.render()]) + "\n"
