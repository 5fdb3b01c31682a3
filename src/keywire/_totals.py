"""What a report says about all of its targets, counted one target at a time.

A fleet's results are streamed (:mod:`keywire.fleet`) and never all held in memory, yet its
report needs the overall score, the counts by severity, whether it is complete and what the gate
says. :class:`Totals` keeps exactly that, fed one finished :class:`~keywire.TargetResult` at a
time; the JSON report, the JSONL summary record and the gate read it, for an in-memory
:class:`~keywire.ScanReport` (``Totals.of(report)``) and for a stream alike, so the two agree.

>>> totals = Totals()
>>> totals.complete, totals.score() is None
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable

from ._models import BaselineState, Gate, OutcomeStatus, ScanReport, Score, Severity, TargetResult
from .rules import RULES
from .scoring import ScoreTally


class Totals:
    """Counts over the targets added so far; see the module docstring."""

    def __init__(self, gate: Gate | None = None) -> None:
        from .gate import DEFAULT_GATE

        self.gate = gate or DEFAULT_GATE
        self.targets = 0
        self.scanned = 0
        #: Findings that count (not suppressed), by severity value.
        self.by_severity = {s.value: 0 for s in Severity}
        self.suppressed = 0
        self.new = 0
        self.unchanged = 0
        #: Checks that could not run on scanned targets, and the distinct ones by first sight.
        self.errors = 0
        self.error_checks: dict[str, None] = {}
        #: Findings that fail the gate's severity rule.
        self.failing = 0
        self._tally = ScoreTally(RULES)

    @classmethod
    def of(cls, report: ScanReport, gate: Gate | None = None) -> Totals:
        totals = cls(gate or report.gate)
        totals.add_all(report.targets)
        return totals

    def add_all(self, targets: Iterable[TargetResult]) -> None:
        for target in targets:
            self.add(target)

    def add(self, target: TargetResult) -> None:
        """Count one finished target (policy and baseline already applied)."""
        from .gate import counts_for_gate

        self.targets += 1
        if target.scanned:
            self.scanned += 1
        active = []
        for finding in target.findings:
            if finding.suppression is not None:
                self.suppressed += 1
            else:
                active.append(finding)
                self.by_severity[finding.severity.value] += 1
            if finding.baseline is BaselineState.NEW:
                self.new += 1
            elif finding.baseline is BaselineState.UNCHANGED:
                self.unchanged += 1
            if counts_for_gate(finding, self.gate):
                self.failing += 1
        self._tally.add(active)
        if target.scanned:  # a target not scanned already makes the report incomplete
            for outcome in target.outcomes:
                if outcome.status is OutcomeStatus.ERROR:
                    self.errors += 1
                    self.error_checks.setdefault(outcome.check)

    @property
    def findings(self) -> int:
        """Findings that count (not suppressed)."""
        return sum(self.by_severity.values())

    @property
    def scanned_any(self) -> bool:
        return self.scanned > 0

    @property
    def complete(self) -> bool:
        """False when any target could not be scanned or any check could not run."""
        return self.scanned == self.targets and not self.errors

    def score(self) -> Score | None:
        """The overall score of the findings that count (None when nothing was scanned)."""
        return self._tally.score() if self.scanned else None

    def incompleteness(self) -> str:
        """What could not be tested, in a few words ("" when complete), such as
        ``1 target not scanned and 2 checks not tested (hsts, tls)``."""
        if self.complete:
            return ""
        parts = []
        unscanned = self.targets - self.scanned
        if unscanned:
            parts.append(f"{unscanned} target{'s' if unscanned != 1 else ''} not scanned")
        if self.errors:
            names = list(self.error_checks)
            shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
            parts.append(
                f"{self.errors} check{'s' if self.errors != 1 else ''} not tested ({shown})"
            )
        return " and ".join(parts) or "some checks could not run"
