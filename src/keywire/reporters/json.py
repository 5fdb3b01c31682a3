"""The JSON report: versioned, and described by ``keywire/schemas/report-1.schema.json``.

``schema_version`` follows semantic versioning: a minor bump adds fields, a major bump changes or
removes them. Consumers should ignore fields they do not know.

Values from the target are kept exactly as captured (data, not display): a pipeline may match on
them, and fingerprints and baselines depend on them. The document is still inert when printed:
``json.dumps`` escapes control characters, and :func:`keywire._display.json_inert` escapes what it
leaves raw (DEL, C1 controls, bidi and other format characters, lone surrogates).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._display import json_inert
from .._models import Finding, Policy, ScanReport, Score, Suppression, TargetResult
from .._totals import Totals
from ..gate import evaluate_totals
from ..rules import DOCS_BASE, RULES

SCHEMA_VERSION = "1.2"
"""1.1 added suppression and baseline fields on findings, and ``suppressed``, ``baseline``,
``gate``, ``policy`` and ``notices`` at the top level; 1.2 added ``compliance`` on findings (the
requirements of OWASP ASVS 5.0, PCI DSS v4.0.1 and NIST SP 800-52r2 the rule maps to)."""

__all__ = [
    "DOCS_BASE",
    "SCHEMA_VERSION",
    "finding_dict",
    "head_dict",
    "render",
    "schema",
    "target_dict",
    "to_dict",
]


def schema() -> dict[str, Any]:
    """The JSON Schema the report conforms to."""
    return packaged_schema("report-1.schema.json")


def packaged_schema(name: str) -> dict[str, Any]:
    """One of keywire's own JSON Schemas (``keywire/schemas/NAME``)."""
    from importlib import resources  # a report does not need it: only schema() callers load it

    text = resources.files("keywire").joinpath(f"schemas/{name}").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _mappings_for(rule_id: str) -> Sequence[Any]:
    from ..compliance import mappings_for  # a report without findings does not load the tables

    return mappings_for(rule_id)


def finding_dict(finding: Finding) -> dict[str, Any]:
    rule = RULES.get(finding.rule_id)
    return {
        "rule_id": finding.rule_id,
        "title": rule.title if rule else finding.rule_id,
        "target": finding.target,
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "category": rule.category.value if rule else "",
        "cwe": [f"CWE-{n}" for n in rule.cwe] if rule else [],
        "owasp_api": rule.owasp_api if rule else "",
        "message": finding.message,
        "evidence": dict(finding.evidence),
        "location": finding.location,
        "fingerprint": finding.fingerprint,
        "remediation": rule.remediation if rule else "",
        "docs": DOCS_BASE + rule.doc_path if rule else "",
        "suppressed": finding.suppression is not None,
        "suppression": suppression_dict(finding.suppression) if finding.suppression else None,
        "baseline": finding.baseline.value if finding.baseline else None,
        "compliance": [m.as_dict() for m in _mappings_for(finding.rule_id)],
    }


def suppression_dict(suppression: Suppression, *, expired: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": suppression.rule_id,
        "target": suppression.target,
        "reason": suppression.reason,
        "expires": suppression.expires.isoformat() if suppression.expires else None,
        "source": suppression.source,
    }
    if expired is not None:
        out["expired"] = expired
    return out


def policy_dict(report: ScanReport, policy: Policy) -> dict[str, Any]:
    day = report.started_at.date()
    return {
        "source": policy.source,
        "skip_rules": list(policy.skip_rules),
        "severity": {rule: sev.value for rule, sev in policy.severity.items()},
        "suppressions": [
            suppression_dict(s, expired=s.expired_on(day)) for s in policy.suppressions
        ],
    }


def score_dict(score: Score | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "score": score.score,
        "grade": score.grade,
        "caps": list(score.caps),
        "categories": [
            {
                "category": c.category.value,
                "title": c.category.title,
                "score": c.score,
                "grade": c.grade,
                "caps": list(c.caps),
            }
            for c in score.categories
        ],
    }


def to_dict(report: ScanReport) -> dict[str, Any]:
    """The report as plain JSON-compatible data."""
    document = head_dict(report, Totals.of(report))
    document["targets"] = [target_dict(t) for t in report.targets]
    return document


def target_dict(target: TargetResult) -> dict[str, Any]:
    """One entry of the report's ``targets`` (and, in JSONL, one target record's fields)."""
    return {
        "target": target.target,
        "scanned": target.scanned,
        "error": target.error,
        "duration_s": target.duration_s,
        "score": score_dict(target.score),
        "findings": [finding_dict(f) for f in target.findings],
        "outcomes": [
            {"check": o.check, "status": o.status.value, "reason": o.reason}
            for o in target.outcomes
        ],
        "details": _plain(target.details),
    }


def head_dict(report: ScanReport, totals: Totals) -> dict[str, Any]:
    """Everything but the targets (``"targets"`` is a placeholder, in its place): the counts,
    completeness and gate come from ``totals``, so a streamed report (an envelope without
    targets, see :class:`keywire.finish.Finisher`) and one in memory say the same."""
    baseline = None
    if report.baseline is not None:
        baseline = {
            "source": report.baseline.source,
            "started_at": report.baseline.started_at,
            "new": totals.new,
            "unchanged": totals.unchanged,
            "fixed": [finding_dict(f) for f in report.baseline.fixed],
            "not_retested": [finding_dict(f) for f in report.baseline.not_retested],
        }
    gate = None
    if report.gate is not None:
        result = evaluate_totals(totals, report.score)
        gate = {
            "fail_on": report.gate.fail_on.value if report.gate.fail_on else None,
            "fail_under": report.gate.fail_under,
            "new_only": report.gate.new_only,
            "allow_incomplete": report.gate.allow_incomplete,
            "incomplete": result.incomplete,
            "passed": result.passed,
            "reasons": list(result.reasons),
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "keywire", "version": report.tool_version},
        "started_at": report.started_at.isoformat(),
        "duration_s": report.duration_s,
        "complete": totals.complete,
        "score": score_dict(report.score),
        "summary": {
            "findings": totals.findings,
            "by_severity": dict(totals.by_severity),
            "suppressed": totals.suppressed,
        },
        "targets": None,
        "options": _plain(report.options),
        "baseline": baseline,
        "gate": gate,
        "policy": policy_dict(report, report.policy) if report.policy else None,
        "notices": list(report.notices),
    }


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> Any:
    # Exact types first: a fleet's details are tens of thousands of plain values.
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _LEAVES else _plain(v)
            for k, v in value.items()  # type: ignore[attr-defined]
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else _plain(v) for v in value]  # type: ignore[attr-defined]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def render(report: ScanReport) -> str:
    """The report as one JSON document."""
    # Values stay exactly as captured (a pipeline may match on them; fingerprints and baselines
    # depend on them); json_inert writes the characters json.dumps leaves raw as \u escapes.
    return json_inert(json.dumps(to_dict(report), indent=2, ensure_ascii=False)) + "\n"
