"""The HTML report: one self-contained file for people who will not read JSON.

Inline CSS and SVG only: no script, no web fonts, no images from anywhere. A Content-Security-Policy
``<meta>`` (``default-src 'none'``, the stylesheet allowed by its hash) makes the page inert even if
something slipped through escaping. Everything that came from the target (URLs, messages,
evidence, details) is escaped by Jinja's autoescape; target URLs are shown as text, never links.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from .._models import BaselineState, Finding, ScanReport, Severity
from ..gate import describe
from ..rules import RULES
from ._common import (
    by_severity,
    cwe_labels,
    docs_url,
    gate_of,
    gate_result,
    not_run,
    severity_counts,
    status_labels,
    title_of,
)
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


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("keywire", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _css() -> str:
    return resources.files("keywire").joinpath("templates/report.css").read_text("utf-8")


def _csp(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; form-action 'none'; base-uri 'none'"


def _finding_view(finding: Finding) -> dict[str, Any]:
    rule = RULES.get(finding.rule_id)
    return {
        "finding": finding,
        "title": title_of(finding.rule_id),
        "cwe": cwe_labels(finding.rule_id),
        "docs": docs_url(finding.rule_id),
        "labels": status_labels(finding),
        "remediation": rule.remediation if rule else "",
        "flask_fix": rule.flask_fix.rstrip() if rule and rule.flask_fix else "",
        "owasp": rule.owasp_api if rule else "",
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


def context(report: ScanReport) -> dict[str, Any]:
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
            (s.value, [_finding_view(f) for f in fs])
            for s, fs in by_severity(f for f in report.findings if f.suppression is None)
        ],
        "suppressed": [_finding_view(f) for f in suppressed],
        "not_run": not_run(report),
        "gate": describe(gate),
        "gate_passed": verdict.passed,
        "gate_reasons": verdict.reasons,
        "new_count": states.count(BaselineState.NEW),
        "unchanged_count": states.count(BaselineState.UNCHANGED),
        "fixed": [_finding_view(f) for f in report.baseline.fixed] if report.baseline else [],
        "not_retested": [_finding_view(f) for f in report.baseline.not_retested]
        if report.baseline
        else [],
        "options": json.dumps(_plain(report.options), indent=2, ensure_ascii=False),
        "details": [
            (t.target, json.dumps(_plain(t.details), indent=2, ensure_ascii=False))
            for t in report.targets
            if t.details
        ],
        "started": report.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        "severities": [s.value for s in Severity],
    }


def render(report: ScanReport) -> str:
    """The report as one self-contained HTML document."""
    css = _css()
    template = _environment().get_template("report.html.j2")
    return template.render(css=css, csp=_csp(css), **context(report))
