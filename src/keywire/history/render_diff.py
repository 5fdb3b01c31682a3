"""``keywire diff`` as plain text, JSON and Markdown.

Like :mod:`keywire.history.render`: text from a target is made visible in the text format,
escaped for Markdown and HTML in the Markdown format (a diff is safe to post as a pull-request
comment), and kept exact but inert in JSON (``schemas/diff-1.schema.json``).
"""

from __future__ import annotations

from typing import Any

from .._display import visible
from ..rules import RULES
from .diff import Diff, TargetDiff
from .render import FORMATS, cert_dict, dump, rule_title, when
from .snapshot import FindingFact, Snapshot, format_time

DIFF_SCHEMA_VERSION = "1.0"


def _finding_dict(finding: FindingFact) -> dict[str, Any]:
    rule = RULES.get(finding.rule_id)
    return {
        "fingerprint": finding.fingerprint,
        "rule_id": finding.rule_id,
        "title": rule_title(finding.rule_id),
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
                "certificates_replaced": [cert_dict(c) for c in t.certificates_replaced],
            }
            for t in diff.targets
        ],
        "only_before": [{"target": s.target, "scan_id": s.scan_id} for s in diff.only_before],
    }


def render_diff(diff: Diff, fmt: str) -> str:
    """The diff in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return dump(diff_dict(diff))
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
        f"{finding.severity.value.upper():<8} {finding.rule_id} {rule_title(finding.rule_id)}{where}"
    )


def _diff_text(diff: Diff) -> str:
    lines = [f"keywire diff: {visible(diff.description)}", ""]
    if not diff.targets:
        lines.append("Nothing to compare: the store holds no results for these scans or targets.")
    for t in diff.targets:
        lines.append(f"{visible(t.target)}: {_grade_text(t)}")
        if t.before is not None:
            lines.append(
                f"  {'scan ' + str(t.before.scan_id)} ({when(t.before)}) → "
                f"scan {t.after.scan_id} ({when(t.after)})"
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
                    f"- **{f.severity.value.upper()}** {f.rule_id} {text(rule_title(f.rule_id))}"
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
