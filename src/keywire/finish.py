"""Finishing a report: the configuration's policy, then the baseline, then the gate.

Every scan ends here, once: :func:`keywire.scan` calls :func:`finish_report` with what it was
given (``config``, ``baseline``, ``gate``), and so does ``keywire scan`` (through the same call)
and ``keywire demo``. A report that was never finished can be finished later, e.g. one loaded
from JSON; finishing twice would apply the policy twice, so the pipeline never does.

>>> from keywire import Gate, Policy, Severity
>>> report = finish_report(report, policy=Policy(skip_rules=("KW143",)),
...                        gate=Gate(fail_on=Severity.MEDIUM))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ._models import Gate, Policy, ScanReport, TargetResult
from ._totals import Totals
from .baseline import Baseline, BaselineComparer
from .policy import PolicyApplier


def finish_report(
    report: ScanReport,
    *,
    policy: Policy | None = None,
    baseline: Baseline | None = None,
    gate: Gate | None = None,
) -> ScanReport:
    """``report`` with ``policy`` applied (skipped rules dropped, severities overridden,
    suppressions marked; scores recomputed), compared with ``baseline`` (findings new, unchanged
    or fixed) and judged by ``gate`` (recorded in the report; :func:`keywire.gate.evaluate`
    gives the verdict)."""
    finisher = Finisher(report, policy=policy, baseline=baseline, gate=gate)
    targets = tuple(finisher.target(t) for t in report.targets)
    return finisher.report(dataclasses.replace(report, targets=targets))


class Finisher:
    """:func:`finish_report` one target at a time, for reports whose targets are streamed.

    :meth:`target` finishes each result as it arrives (and counts it in :attr:`totals`);
    :meth:`report` then finishes the report itself: the overall score, the expired
    suppressions' notices, what the baseline lost (fixed, not re-tested) and the gate. Given a
    report with every target, that is exactly :func:`finish_report`; given an envelope (the
    scan's metadata, ``targets=()``), it is the streamed report's head, with :attr:`totals`
    standing for its targets.
    """

    def __init__(
        self,
        report: ScanReport,
        *,
        policy: Policy | None = None,
        baseline: Baseline | None = None,
        gate: Gate | None = None,
        annotate: Callable[[TargetResult], TargetResult] | None = None,
    ) -> None:
        self._annotate = annotate
        self._policy = PolicyApplier(policy, report.started_at.date()) if policy else None
        self._baseline = BaselineComparer(baseline) if baseline else None
        self.gate = gate if gate is not None else report.gate
        self.totals = Totals(self.gate)
        self._started = report.started_at

    def target(self, result: TargetResult, *, finished: bool = False) -> TargetResult:
        """``result`` finished (policy, then baseline, then ``annotate``: the history store's
        time rules, see :mod:`keywire.history.record`), and counted.

        ``finished``: a result finished by an earlier run (``--resume``): the policy and the
        baseline are applied again (they change nothing twice, and the notices and what the
        baseline lost need to see it), ``annotate`` is not."""
        if self._policy is not None:
            result = self._policy.target(result)
        if self._baseline is not None:
            result = self._baseline.target(result)
        if self._annotate is not None and not finished:
            result = self._annotate(result)
        self.totals.add(result)
        return result

    def report(self, report: ScanReport) -> ScanReport:
        """``report`` (every target finished by :meth:`target`, or none: an envelope) with
        what only the whole scan decides."""
        notices = list(report.notices)
        changes: dict[str, object] = {}
        if self._policy is not None:
            notices += self._policy.notices()
            changes["policy"] = self._policy.policy
        if self._policy is not None or not report.targets:
            changes["score"] = self.totals.score()
        if self._baseline is not None:
            comparison, notice = self._baseline.comparison()
            changes["baseline"] = comparison
            if notice:
                notices.append(notice)
        if self.gate is not None:
            changes["gate"] = self.gate
        return dataclasses.replace(report, notices=tuple(notices), **changes)  # type: ignore[arg-type]
