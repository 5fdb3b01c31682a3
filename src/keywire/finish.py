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

from ._models import Gate, Policy, ScanReport
from .baseline import Baseline, compare_baseline
from .policy import apply_policy


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
    if policy is not None:
        report = apply_policy(report, policy)
    if baseline is not None:
        report = compare_baseline(report, baseline)
    if gate is not None:
        report = dataclasses.replace(report, gate=gate)
    return report
