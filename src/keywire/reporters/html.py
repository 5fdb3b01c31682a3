"""The HTML report: one self-contained file for people who will not read JSON.

Inline CSS and SVG only: no script, no web fonts, no images from anywhere. A Content-Security-Policy
``<meta>`` (``default-src 'none'``, the stylesheet allowed by its hash) makes the page inert even if
something slipped through escaping. Everything that came from the target (URLs, messages,
evidence, details) is made visible (control characters shown as escapes) and escaped by Jinja's
autoescape; target URLs are shown as text, never links.
"""

from __future__ import annotations

import json
from typing import Any

from .._models import BaselineState, ScanReport, Severity
from ..gate import describe
from ._common import (
    by_severity,
    gate_of,
    gate_result,
    not_run,
    requirement_groups,
    severity_counts,
)
from ._htmlpage import block, csp, environment, finding_view, stylesheet
from .json import _plain

GRADE_COLOURS = {
    "A+": "#1a7f37",
    "A": "#1a7f37",
    "A-": "#2da44e",
    "B": "#7d8b00",
    "C": "#bf8700",
    "D": "#d4670a",
    "E": "#cf4a0a",
    "F": "#cf222e",
}


def _chart(report: ScanReport) -> dict[str, Any] | None:
    if report.score is None:
        return None
    rows = []
    for i, category in enumerate(report.score.categories):
        rows.append(
            {
                "title": category.category.title,
                "score": category.score,
                "grade": category.grade,
                "y": 10 + i * 34,
                "width": round(category.score * 3.2, 1),
                "colour": GRADE_COLOURS.get(category.grade, "#57606a"),
            }
        )
    return {"rows": rows, "height": 20 + len(rows) * 34}


def _by_requirement(report: ScanReport, framework: str | None) -> dict[str, Any] | None:
    grouped = requirement_groups(report, framework)
    if grouped is None:
        return None
    return {
        "title": grouped.title,
        "groups": [(r, [finding_view(f) for f in fs]) for r, fs in grouped.groups],
        "unmapped": grouped.unmapped,
        "unmapped_ids": sorted({f.rule_id for f in grouped.unmapped}),
    }


def context(report: ScanReport, *, framework: str | None = None) -> dict[str, Any]:
    """The values the template renders (exposed for tests)."""
    gate = gate_of(report)
    verdict = gate_result(report)
    counts = severity_counts(report.active_findings)
    suppressed = [f for f in report.findings if f.suppression is not None]
    states = [f.baseline for f in report.findings]
    return {
        "report": report,
        "grade": report.score.grade if report.score else "-",
        "grade_colour": GRADE_COLOURS.get(report.score.grade, "#57606a")
        if report.score
        else "#57606a",
        "chart": _chart(report),
        "counts": [(s.value, counts[s]) for s in counts],
        "suppressed_count": len(suppressed),
        "groups": [
            (s.value, [finding_view(f) for f in fs])
            for s, fs in by_severity(f for f in report.findings if f.suppression is None)
        ],
        "suppressed": [finding_view(f) for f in suppressed],
        "not_run": not_run(report),
        "gate": describe(gate),
        "gate_passed": verdict.passed,
        "gate_reasons": verdict.reasons,
        "new_count": states.count(BaselineState.NEW),
        "unchanged_count": states.count(BaselineState.UNCHANGED),
        "fixed": [finding_view(f) for f in report.baseline.fixed] if report.baseline else [],
        "not_retested": [finding_view(f) for f in report.baseline.not_retested]
        if report.baseline
        else [],
        "options": block(json.dumps(_plain(report.options), indent=2, ensure_ascii=False)),
        "details": [
            (t.target, block(json.dumps(_plain(t.details), indent=2, ensure_ascii=False)))
            for t in report.targets
            if t.details
        ],
        "started": report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        "severities": [s.value for s in Severity],
        "by_requirement": _by_requirement(report, framework),
    }


def render(report: ScanReport, *, framework: str | None = None) -> str:
    """The report as one self-contained HTML document (``framework``: see ``--framework``)."""
    css = stylesheet("report.css")
    template = environment().get_template("report.html.j2")
    return template.render(css=css, csp=csp(css), **context(report, framework=framework))
