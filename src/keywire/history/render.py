"""``keywire history`` as plain text, JSON and Markdown (``keywire diff``: :mod:`.render_diff`).

Every renderer is ``render_*(value, fmt) -> str`` and never prints. Text from a target (URLs,
messages, certificate names) is made visible (:func:`keywire._display.visible`) in the text
format, escaped for Markdown and HTML in the Markdown format (:mod:`keywire.reporters.markdown`,
so a diff is safe to post as a pull-request comment), and kept exact but inert in JSON
(:func:`keywire._display.json_inert`). The JSON documents carry ``schema_version`` and are
described by ``schemas/history-1.schema.json`` and ``schemas/diff-1.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .. import _json
from .._dataclass import dataclass
from .._display import json_inert, visible
from .._models import Severity
from ..rules import RULES
from .snapshot import CertFact, FindingFact, Snapshot, format_time

FORMATS: tuple[str, ...] = ("console", "json", "markdown")
HISTORY_SCHEMA_VERSION = "1.0"


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of the ``history``, ``diff`` or ``fleet`` document."""
    from importlib import resources

    text = resources.files("keywire").joinpath(f"schemas/{kind}-1.schema.json").read_text("utf-8")
    loaded = _json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True, kw_only=True)
class TargetHistory:
    """One target's results, newest first (``total``: how many the store holds)."""

    target: str
    results: tuple[Snapshot, ...]
    total: int


def rule_title(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return rule.title if rule is not None else rule_id


def when(snapshot: Snapshot) -> str:
    return snapshot.scanned_at.strftime("%Y-%m-%d %H:%M:%S")


def _counts(findings: Sequence[FindingFact]) -> dict[str, int]:
    counts = {s.value: 0 for s in reversed(Severity)}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


def _count_text(findings: Sequence[FindingFact]) -> str:
    parts = [f"{n} {name}" for name, n in _counts(findings).items() if n]
    return ", ".join(parts) or "none"


def dump(document: dict[str, Any]) -> str:
    return json_inert(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


def cert_dict(cert: CertFact) -> dict[str, Any]:
    return {
        "sha256": cert.sha256,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
    }


# -- history ----------------------------------------------------------------------------------


def _result_dict(snapshot: Snapshot) -> dict[str, Any]:
    active = snapshot.active_findings
    return {
        "scan_id": snapshot.scan_id,
        "result_id": snapshot.result_id,
        "scanned_at": format_time(snapshot.scanned_at),
        "answered": snapshot.answered,
        "error": snapshot.error,
        "grade": snapshot.grade,
        "score": snapshot.score,
        "findings": _counts(active),
        "certificates": [cert_dict(c) for c in snapshot.leaves],
    }


def render_history(histories: Sequence[TargetHistory], fmt: str, *, detailed: bool) -> str:
    """The history of the targets: each result in full when ``detailed`` (one target asked for),
    else one line per target with its grades over time."""
    if fmt == "json":
        return dump(
            {
                "schema_version": HISTORY_SCHEMA_VERSION,
                "kind": "keywire-history",
                "targets": [
                    {
                        "target": h.target,
                        "results_total": h.total,
                        "results": [_result_dict(s) for s in h.results],
                    }
                    for h in histories
                ],
            }
        )
    if fmt == "markdown":
        return _history_markdown(histories, detailed=detailed)
    if fmt != "console":
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not histories:
        return "The store holds no scans yet: `keywire scan` records into it.\n"
    lines: list[str] = []
    if detailed:
        for history in histories:
            shown = len(history.results)
            more = f", the newest {shown} shown" if shown < history.total else ""
            lines += [f"{visible(history.target)}: {history.total} result(s){more}", ""]
            lines.append(f"  {'scan':>6}  {'scanned at (UTC)':<19}  grade  score  findings")
            for s in history.results:
                if not s.answered:
                    state = f"did not answer: {visible(s.error)}" if s.error else "did not answer"
                    lines.append(
                        f"  {s.scan_id or '':>6}  {when(s):<19}  {'-':<5}  {'-':>5}  {state}"
                    )
                    continue
                lines.append(
                    f"  {s.scan_id or '':>6}  {when(s):<19}  {s.grade or '-':<5}  "
                    f"{'-' if s.score is None else s.score:>5}  {_count_text(s.active_findings)}"
                )
            lines.append("")
        return "\n".join(lines)
    width = min(60, max(len(visible(h.target)) for h in histories))
    lines.append(f"{'target':<{width}}  grade  score  last scanned (UTC)   grades, oldest first")
    for history in histories:
        latest = history.results[0] if history.results else None
        if latest is None:
            continue
        trend = " ".join((s.grade or "-") if s.answered else "x" for s in reversed(history.results))
        grade = (latest.grade or "-") if latest.answered else "x"
        score = "-" if latest.score is None or not latest.answered else str(latest.score)
        lines.append(
            f"{visible(history.target):<{width}}  {grade:<5}  {score:>5}  {when(latest):<19}  {trend}"
        )
    lines += ["", "x: did not answer. `keywire history TARGET` shows one target's results."]
    return "\n".join(lines) + "\n"


def _history_markdown(histories: Sequence[TargetHistory], *, detailed: bool) -> str:
    from ..reporters.markdown import code, text

    lines = ["## keywire history", ""]
    if not histories:
        return "\n".join([*lines, "The store holds no scans yet.", ""])
    if detailed:
        for history in histories:
            lines += [f"### {code(history.target)}", ""]
            lines += [
                "| Scan | Scanned at (UTC) | Grade | Score | Findings |",
                "|---|---|---|---|---|",
            ]
            for s in history.results:
                found = _count_text(s.active_findings) if s.answered else "did not answer"
                lines.append(
                    f"| {s.scan_id} | {when(s)} | {s.grade or '-'} | "
                    f"{'-' if s.score is None else s.score} | {text(found)} |"
                )
            lines.append("")
        return "\n".join(lines)
    lines += ["| Target | Grade | Score | Last scanned (UTC) | Grades, oldest first |"]
    lines += ["|---|---|---|---|---|"]
    for history in histories:
        if not history.results:
            continue
        latest = history.results[0]
        trend = " ".join((s.grade or "-") if s.answered else "x" for s in reversed(history.results))
        lines.append(
            f"| {code(history.target)} | {latest.grade or '-'} | "
            f"{'-' if latest.score is None else latest.score} | {when(latest)} | {text(trend)} |"
        )
    return "\n".join([*lines, ""])
