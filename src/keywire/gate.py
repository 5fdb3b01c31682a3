"""The CI gate: does this report fail the pipeline? One function, used by the CLI and reporters.

A finding counts for the gate when it is not suppressed and, with ``new_only``, when it is not
``unchanged`` since the baseline (a finding without baseline information counts as new). The score
rule (``fail_under``) always looks at the whole overall score.

An incomplete report (a target that could not be scanned, a check that could not run) fails the
gate too, unless the gate allows it (``allow_incomplete``, ``--allow-incomplete``): a CI job
pointed at a dead or half-dead API must not pass on what it could not see. The CLI exits 1 when
findings or the score fail the gate and 3 when only the incompleteness does (see ``keywire scan
--help``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._dataclass import dataclass
from ._models import BaselineState, Finding, Gate, ScanReport, Score

if TYPE_CHECKING:
    from ._totals import Totals

DEFAULT_GATE = Gate()


@dataclass(frozen=True, kw_only=True)
class GateResult:
    """The verdict. ``reasons`` lists everything that failed it, incompleteness included;
    ``findings_failed`` says whether findings or the score did (the CLI's exit code 1), and
    ``incomplete`` what could not be tested ("" for a complete report)."""

    passed: bool
    reasons: tuple[str, ...]
    failing: tuple[Finding, ...]
    findings_failed: bool = False
    incomplete: str = ""


def incompleteness(report: ScanReport) -> str:
    """What a report could not test, in a few words ("" when it is complete), such as
    ``1 target not scanned and 2 checks not tested (hsts, tls)``."""
    from ._totals import Totals

    return Totals.of(report).incompleteness()


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
    return _judge(gate, len(failing), report.score, incompleteness(report), failing)


def evaluate_totals(totals: Totals, score: Score | None) -> GateResult:
    """Judge a streamed report by its :class:`~keywire._totals.Totals` (kept for
    ``totals.gate``), as :func:`evaluate` judges one in memory; ``failing`` is left empty
    (the findings were streamed), their number is in the reasons."""
    return _judge(totals.gate, totals.failing, score, totals.incompleteness(), ())


def _judge(
    gate: Gate,
    failing_count: int,
    score: Score | None,
    incomplete: str,
    failing: tuple[Finding, ...],
) -> GateResult:
    reasons = []
    if failing_count and gate.fail_on is not None:
        scope = "new finding" if gate.new_only else "finding"
        reasons.append(
            f"{failing_count} {scope}{'s' if failing_count != 1 else ''} at or above "
            f"{gate.fail_on.value}"
        )
    if gate.fail_under is not None and score is not None and score.score < gate.fail_under:
        reasons.append(f"score {score.score} is under {gate.fail_under}")
    findings_failed = bool(reasons)
    if incomplete and not gate.allow_incomplete:
        reasons.append(f"the scan is incomplete: {incomplete}")
    return GateResult(
        passed=not reasons,
        reasons=tuple(reasons),
        failing=failing,
        findings_failed=findings_failed,
        incomplete=incomplete,
    )


def describe(gate: Gate) -> str:
    """The gate in words, for reports: ``fail on high (new findings only), fail under 80``."""
    parts = []
    if gate.fail_on is not None:
        parts.append(
            f"fail on {gate.fail_on.value}" + (" (new findings only)" if gate.new_only else "")
        )
    if gate.fail_under is not None:
        parts.append(f"fail under {gate.fail_under}")
    if gate.allow_incomplete:
        parts.append("incomplete scans allowed")
    return ", ".join(parts) or "no gate"
