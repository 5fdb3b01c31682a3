"""The CI gate: does this report fail the pipeline? One function, used by the CLI and reporters.

A finding counts for the gate when it is not suppressed and, with ``new_only``, when it is not
``unchanged`` since the baseline (a finding without baseline information counts as new). The score
rule (``fail_under``) always looks at the whole overall score.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._models import BaselineState, Finding, Gate, ScanReport

DEFAULT_GATE = Gate()


@dataclass(frozen=True, kw_only=True)
class GateResult:
    passed: bool
    reasons: tuple[str, ...]
    failing: tuple[Finding, ...]


def counts_for_gate(finding: Finding, gate: Gate) -> bool:
    """Whether ``finding`` fails ``gate`` (severity rule only)."""
    if gate.fail_on is None or finding.suppression is not None:
        return False
    if gate.new_only and finding.baseline is BaselineState.UNCHANGED:
        return False
    return finding.severity >= gate.fail_on


def evaluate(report: ScanReport, gate: Gate | None = None) -> GateResult:
    """Judge ``report`` against ``gate`` (default: ``report.gate``, else fail on high)."""
    gate = gate or report.gate or DEFAULT_GATE
    failing = tuple(f for f in report.findings if counts_for_gate(f, gate))
    reasons = []
    if failing and gate.fail_on is not None:
        scope = "new finding" if gate.new_only else "finding"
        reasons.append(
            f"{len(failing)} {scope}{'s' if len(failing) != 1 else ''} at or above "
            f"{gate.fail_on.value}"
        )
    score = report.score
    if gate.fail_under is not None and score is not None and score.score < gate.fail_under:
        reasons.append(f"score {score.score} is under {gate.fail_under}")
    return GateResult(passed=not reasons, reasons=tuple(reasons), failing=failing)


def describe(gate: Gate) -> str:
    """The gate in words, for reports: ``fail on high (new findings only), fail under 80``."""
    parts = []
    if gate.fail_on is not None:
        parts.append(
            f"fail on {gate.fail_on.value}" + (" (new findings only)" if gate.new_only else "")
        )
    if gate.fail_under is not None:
        parts.append(f"fail under {gate.fail_under}")
    return ", ".join(parts) or "no gate"
