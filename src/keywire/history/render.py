"""``keywire history`` and ``keywire diff`` as plain text, JSON and Markdown.

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
from dataclasses import dataclass
from typing import Any

from .. import _json
from .._display import json_inert, visible
from .._models import Severity
from ..rules import RULES
from .diff import Diff, TargetDiff
from .snapshot import CertFact, FindingFact, Snapshot, format_time

FORMATS: tuple[str, ...] = ("console", "json", "markdown")
HISTORY_SCHEMA_VERSION = "1.0"
DIFF_SCHEMA_VERSION = "1.0"


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


def _title(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return rule.title if rule is not None else rule_id


def _when(snapshot: Snapshot) -> str:
    return snapshot.scanned_at.strftime("%Y-%m-%d %H:%M:%S")


def _counts(findings: Sequence[FindingFact]) -> dict[str, int]:
    counts = {s.value: 0 for s in reversed(Severity)}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


def _count_text(findings: Sequence[FindingFact]) -> str:
    parts = [f"{n} {name}" for name, n in _counts(findings).items() if n]
    return ", ".join(parts) or "none"


def _dump(document: dict[str, Any]) -> str:
    return json_inert(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"


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
        "certificates": [_cert_dict(c) for c in snapshot.leaves],
    }


def render_history(histories: Sequence[TargetHistory], fmt: str, *, detailed: bool) -> str:
    """The history of the targets: each result in full when ``detailed`` (one target asked for),
    else one line per target with its grades over time."""
    if fmt == "json":
        return _dump(
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
                        f"  {s.scan_id or '':>6}  {_when(s):<19}  {'-':<5}  {'-':>5}  {state}"
                    )
                    continue
                lines.append(
                    f"  {s.scan_id or '':>6}  {_when(s):<19}  {s.grade or '-':<5}  "
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
            f"{visible(history.target):<{width}}  {grade:<5}  {score:>5}  {_when(latest):<19}  {trend}"
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
                    f"| {s.scan_id} | {_when(s)} | {s.grade or '-'} | "
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
            f"{'-' if latest.score is None else latest.score} | {_when(latest)} | {text(trend)} |"
        )
    return "\n".join([*lines, ""])


# -- diff ---------------------------------------------------------------------------------------


def _cert_dict(cert: CertFact) -> dict[str, Any]:
    return {
        "sha256": cert.sha256,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
    }


def _finding_dict(finding: FindingFact) -> dict[str, Any]:
    rule = RULES.get(finding.rule_id)
    return {
        "fingerprint": finding.fingerprint,
        "rule_id": finding.rule_id,
        "title": _title(finding.rule_id),
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "category": rule.category.value if rule is not None else "",
        "message": finding.message,
        "location": finding.location,
        "evidence": dict(finding.evidence),
        "suppressed": finding.suppressed,
    }


def _side(snapshot: Snapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {
        "scan_id": snapshot.scan_id,
        "result_id": snapshot.result_id,
        "scanned_at": format_time(snapshot.scanned_at),
        "answered": snapshot.answered,
        "error": snapshot.error,
        "grade": snapshot.grade,
        "score": snapshot.score,
    }


def diff_summary(diff: Diff) -> dict[str, int]:
    return {
        "targets": len(diff.targets),
        "changed": sum(1 for t in diff.targets if t.changed),
        "new": sum(len(t.new) for t in diff.targets),
        "fixed": sum(len(t.fixed) for t in diff.targets),
        "unchanged": sum(len(t.unchanged) for t in diff.targets),
        "not_retested": sum(len(t.not_retested) for t in diff.targets),
        "grade_dropped": sum(1 for t in diff.targets if t.grade_change == "dropped"),
        "certificates_replaced": sum(len(t.certificates_replaced) for t in diff.targets),
    }


def diff_dict(diff: Diff) -> dict[str, Any]:
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "kind": "keywire-diff",
        "description": diff.description,
        "summary": diff_summary(diff),
        "targets": [
            {
                "target": t.target,
                "before": _side(t.before),
                "after": _side(t.after),
                "grade_change": t.grade_change,
                "new": [_finding_dict(f) for f in t.new],
                "fixed": [_finding_dict(f) for f in t.fixed],
                "unchanged": [_finding_dict(f) for f in t.unchanged],
                "not_retested": [_finding_dict(f) for f in t.not_retested],
                "certificates_replaced": [_cert_dict(c) for c in t.certificates_replaced],
            }
            for t in diff.targets
        ],
        "only_before": [{"target": s.target, "scan_id": s.scan_id} for s in diff.only_before],
    }


def render_diff(diff: Diff, fmt: str) -> str:
    """The diff in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return _dump(diff_dict(diff))
    if fmt == "markdown":
        return _diff_markdown(diff)
    if fmt != "console":
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return _diff_text(diff)


def _grade_text(t: TargetDiff) -> str:
    after = t.after.grade if t.after.answered else "did not answer"
    if t.before is None:
        return f"first scan, grade {after or '-'}"
    if not t.before.answered and not t.after.answered:
        return "did not answer, nor at the scan before"
    before = t.before.grade if t.before.answered else "did not answer"
    score = ""
    if t.before.score is not None and t.after.score is not None:
        score = f", score {t.before.score} → {t.after.score}"
    change = f" ({t.grade_change})" if t.grade_change in ("dropped", "improved") else ""
    return f"grade {before or '-'} → {after or '-'}{change}{score}"


def _finding_line(finding: FindingFact) -> str:
    where = f" · {finding.location}" if finding.location else ""
    return visible(
        f"{finding.severity.value.upper():<8} {finding.rule_id} {_title(finding.rule_id)}{where}"
    )


def _diff_text(diff: Diff) -> str:
    lines = [f"keywire diff: {visible(diff.description)}", ""]
    if not diff.targets:
        lines.append("Nothing to compare: the store holds no results for these scans or targets.")
    for t in diff.targets:
        lines.append(f"{visible(t.target)}: {_grade_text(t)}")
        if t.before is not None:
            lines.append(
                f"  {'scan ' + str(t.before.scan_id)} ({_when(t.before)}) → "
                f"scan {t.after.scan_id} ({_when(t.after)})"
            )
        if not t.after.answered:
            lines.append(f"  did not answer: {visible(t.after.error) or 'no response'}")
        for title, findings in (
            ("new", t.new),
            ("fixed", t.fixed),
            ("not re-tested (the target or check did not run)", t.not_retested),
        ):
            if findings:
                lines.append(f"  {title} ({len(findings)}):")
                lines += [f"    {_finding_line(f)}" for f in findings]
        if t.unchanged:
            lines.append(f"  unchanged: {len(t.unchanged)}")
        for cert in t.certificates_replaced:
            lines.append(
                "  certificate replaced: "
                + visible(
                    f"{cert.subject} from {cert.issuer}, valid until {cert.not_after:%Y-%m-%d}"
                    f" (sha256 {cert.sha256[:16]}…)"
                )
            )
        lines.append("")
    for s in diff.only_before:
        lines.append(f"{visible(s.target)}: in scan {s.scan_id} only (not scanned since)")
    summary = diff_summary(diff)
    lines.append(
        f"{summary['new']} new, {summary['fixed']} fixed, {summary['unchanged']} unchanged, "
        f"{summary['not_retested']} not re-tested; {summary['changed']} of "
        f"{summary['targets']} target(s) changed"
    )
    return "\n".join(lines) + "\n"


def _diff_markdown(diff: Diff) -> str:
    from ..reporters.markdown import MAX_CHARS, attr_html, code, text

    summary = diff_summary(diff)
    lines = [
        f"## keywire diff: {text(diff.description)}",
        "",
        f"**{summary['new']} new**, {summary['fixed']} fixed, {summary['unchanged']} unchanged, "
        f"{summary['not_retested']} not re-tested; {summary['changed']} of {summary['targets']} "
        "target(s) changed.",
        "",
    ]
    if diff.targets:
        lines += ["| Target | Grade | New | Fixed | Unchanged | Not re-tested |"]
        lines += ["|---|---|---|---|---|---|"]
        for t in diff.targets:
            lines.append(
                f"| {code(t.target)} | {text(_grade_text(t))} | {len(t.new)} | {len(t.fixed)} | "
                f"{len(t.unchanged)} | {len(t.not_retested)} |"
            )
        lines.append("")
    details: list[str] = []
    for t in diff.targets:
        if not (t.new or t.fixed or t.not_retested or t.certificates_replaced):
            continue
        block = [
            "<details>",
            f"<summary>{attr_html(t.target)}: {len(t.new)} new, {len(t.fixed)} fixed</summary>",
            "",
        ]
        for title, findings in (
            ("New", t.new),
            ("Fixed", t.fixed),
            ("Not re-tested", t.not_retested),
        ):
            if not findings:
                continue
            block += [f"**{title}**", ""]
            for f in findings:
                where = f" · {code(f.location)}" if f.location else ""
                block.append(
                    f"- **{f.severity.value.upper()}** {f.rule_id} {text(_title(f.rule_id))}"
                    f"{where}: {text(f.message)}"
                )
            block.append("")
        for cert in t.certificates_replaced:
            block += [
                f"Certificate replaced: {text(cert.subject)} from {text(cert.issuer)}, valid "
                f"until {cert.not_after:%Y-%m-%d} ({code(cert.sha256)})",
                "",
            ]
        block += ["</details>", ""]
        if sum(len(x) + 1 for x in lines + details + block) > MAX_CHARS:
            details += ["*More targets changed; `keywire diff --format json` lists them all.*", ""]
            break
        details += block
    for s in diff.only_before:
        details.append(f"- {code(s.target)}: in scan {s.scan_id} only")
    return "\n".join(lines + details).rstrip("\n") + "\n"
