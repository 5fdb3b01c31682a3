"""What several reporters need: rule lookup, counts, labels. No formatting lives here."""

from __future__ import annotations

from collections.abc import Iterable

from .._dataclass import dataclass
from .._models import (
    BaselineState,
    Finding,
    Gate,
    OutcomeStatus,
    Rule,
    ScanReport,
    Severity,
)
from ..compliance import FRAMEWORKS, Requirement, by_requirement
from ..gate import DEFAULT_GATE, GateResult, evaluate
from ..rules import DOCS_BASE as DOCS_BASE
from ..rules import RULES

SEVERITIES_DESC: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))


def rule_of(finding: Finding) -> Rule | None:
    return RULES.get(finding.rule_id)


def title_of(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return rule.title if rule else rule_id


def docs_url(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return DOCS_BASE + (rule.doc_path if rule else f"docs/rules/{rule_id}.md")


def cwe_labels(rule_id: str) -> list[str]:
    rule = RULES.get(rule_id)
    return [f"CWE-{n}" for n in rule.cwe] if rule else []


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = {s: 0 for s in SEVERITIES_DESC}
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def gate_of(report: ScanReport) -> Gate:
    return report.gate or DEFAULT_GATE


def gate_result(report: ScanReport) -> GateResult:
    return evaluate(report, gate_of(report))


def status_labels(finding: Finding) -> list[str]:
    """Short tags for a finding: ``new``, ``unchanged``, ``suppressed``."""
    labels = []
    if finding.baseline in (BaselineState.NEW, BaselineState.UNCHANGED):
        labels.append(finding.baseline.value)
    if finding.suppression is not None:
        labels.append("suppressed")
    return labels


@dataclass(frozen=True)
class NotRun:
    """A check that did not run on a target, and why."""

    target: str
    check: str
    status: str  # "not tested", "not applicable", "not scanned"
    reason: str


def not_run(report: ScanReport) -> list[NotRun]:
    """Every target that could not be scanned and every check that did not run, with why."""
    out = []
    for target in report.targets:
        if not target.scanned:
            out.append(NotRun(target.target, "", "not scanned", target.error))
            continue
        for outcome in target.outcomes:
            if outcome.status is OutcomeStatus.ERROR:
                out.append(NotRun(target.target, outcome.check, "not tested", outcome.reason))
            elif outcome.status is OutcomeStatus.SKIPPED:
                out.append(NotRun(target.target, outcome.check, "not applicable", outcome.reason))
    return out


def by_severity(findings: Iterable[Finding]) -> list[tuple[Severity, list[Finding]]]:
    """Findings grouped by severity, worst first; empty groups left out."""
    groups: dict[Severity, list[Finding]] = {s: [] for s in SEVERITIES_DESC}
    for finding in findings:
        groups[finding.severity].append(finding)
    return [
        (s, sorted(fs, key=lambda f: (f.rule_id, f.target, f.location)))
        for s, fs in groups.items()
        if fs
    ]


@dataclass(frozen=True)
class RequirementGroups:
    """The counted findings of a report grouped by the requirements of one framework."""

    title: str
    groups: list[tuple[Requirement, list[Finding]]]
    unmapped: list[Finding]


def requirement_groups(report: ScanReport, framework: str | None) -> RequirementGroups | None:
    """``--framework``: the report's counted findings by requirement (None without a framework)."""
    if framework is None:
        return None
    findings = sorted(report.active_findings, key=lambda f: (-f.severity.rank, f.rule_id))
    groups, unmapped = by_requirement(findings, framework)
    return RequirementGroups(FRAMEWORKS[framework].title, groups, unmapped)
