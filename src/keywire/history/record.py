"""A scan's results as they go into the store: the time rules added, the policy applied.

``keywire scan`` and ``keywire watch`` record the same way: each target's result is compared
with the target's previous result in the store (:func:`keywire.history.rules.time_findings`),
the findings of the rules only time can show are added to it, and the configuration's policy
(suppressions, severity overrides, skipped rules) is applied to the whole, so the report, the
store and the alerts agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from .._models import Policy, ScanReport, TargetResult
from ..policy import apply_policy
from ..rules import RULES
from ..scoring import compute_score
from .rules import time_findings
from .snapshot import Snapshot, snapshot_of


def annotate_result(
    result: TargetResult,
    previous: Snapshot | None,
    *,
    scanned_at: datetime,
    started_at: datetime,
    policy: Policy | None = None,
) -> TargetResult:
    """``result`` with its time-rule findings (against ``previous``) and ``policy`` applied."""
    report = _one(result, started_at)
    if policy is not None:
        report = apply_policy(report, policy)
    current = snapshot_of(report.targets[0], scanned_at=scanned_at)
    extra = time_findings(previous, current)
    if not extra:
        return report.targets[0]
    target = report.targets[0]
    target = dataclasses.replace(target, findings=target.findings + tuple(extra))
    if policy is not None:
        return apply_policy(dataclasses.replace(report, targets=(target,)), policy).targets[0]
    counted = [f for f in target.findings if f.suppression is None]
    return dataclasses.replace(
        target, score=compute_score(counted, RULES) if target.scanned else None
    )


def annotate_report(
    report: ScanReport,
    previous: Callable[[str], Snapshot | None],
    *,
    scanned_at: datetime,
    policy: Policy | None = None,
) -> ScanReport:
    """``report`` with each target annotated (``previous(url)``: the target's previous result),
    then ``policy`` applied to the whole (the overall score recomputed)."""
    targets = tuple(
        annotate_result(
            t,
            previous(t.target),
            scanned_at=scanned_at,
            started_at=report.started_at,
            policy=policy,
        )
        for t in report.targets
    )
    report = dataclasses.replace(report, targets=targets)
    if policy is not None:
        return apply_policy(report, policy)
    counted = [f for t in targets for f in t.findings if f.suppression is None]
    score = compute_score(counted, RULES) if any(t.scanned for t in targets) else None
    return dataclasses.replace(report, score=score)


def _one(result: TargetResult, started_at: datetime) -> ScanReport:
    return ScanReport(
        tool_version="",
        started_at=started_at,
        duration_s=result.duration_s,
        targets=(result,),
        score=result.score,
    )
