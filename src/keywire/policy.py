"""Apply a configuration's decisions to a report: skipped rules, severity overrides, suppressions.

This runs after the scan (the CLI and :func:`keywire.scan` call it when given a configuration, and
it works on any :class:`~keywire.ScanReport`), so the library and the command line agree:

- findings of a skipped rule are dropped;
- a severity override sets the severity of every finding of that rule;
- a finding matched by a suppression that has not expired stays in the report, marked suppressed,
  and counts for neither the score nor the gate;
- a suppression that expired (judged on the scan's start date) suppresses nothing and leaves a
  notice in the report saying so.

Scores are recomputed from the findings that still count.

>>> from keywire import Policy, Suppression
>>> policy = Policy(suppressions=(Suppression(rule_id="KW140", target="https://staging.*",
...                                            reason="staging is not public"),))
>>> report = apply_policy(report, policy)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from datetime import date

from ._models import Finding, Policy, ScanReport, Suppression, TargetResult
from .rules import RULES
from .scoring import compute_score


def _sort_key(finding: Finding) -> tuple[int, str, str]:
    return (-finding.severity.rank, finding.rule_id, finding.location)


def apply_policy(report: ScanReport, policy: Policy) -> ScanReport:
    """The report with ``policy`` applied; see the module documentation."""
    applier = PolicyApplier(policy, report.started_at.date())
    targets = [applier.target(target) for target in report.targets]
    counted_all = [f for t in targets for f in t.findings if f.suppression is None]
    return dataclasses.replace(
        report,
        targets=tuple(targets),
        score=compute_score(counted_all, RULES) if any(t.scanned for t in targets) else None,
        policy=policy,
        notices=(*report.notices, *applier.notices()),
    )


class PolicyApplier:
    """``policy`` applied one target at a time (a fleet's results are never all in memory);
    :meth:`notices` then says which suppressions expired, and how many findings they would
    have hidden."""

    def __init__(self, policy: Policy, day: date) -> None:
        self.policy = policy
        self._live = [s for s in policy.suppressions if not s.expired_on(day)]
        self._expired = [s for s in policy.suppressions if s.expired_on(day)]
        self._hits = [0] * len(self._expired)
        self._skip = set(policy.skip_rules)

    def target(self, target: TargetResult) -> TargetResult:
        """``target`` with the policy applied and its score recomputed."""
        findings = []
        for finding in target.findings:
            if finding.rule_id in self._skip:
                continue
            severity = self.policy.severity.get(finding.rule_id)
            if severity is not None and severity is not finding.severity:
                finding = dataclasses.replace(finding, severity=severity)
            match = next((s for s in self._live if s.matches(finding)), None)
            if match is not None or finding.suppression is not None:
                finding = dataclasses.replace(finding, suppression=match)
            findings.append(finding)
            for index, suppression in enumerate(self._expired):
                if suppression.matches(finding):
                    self._hits[index] += 1
        findings.sort(key=_sort_key)
        counted = [f for f in findings if f.suppression is None]
        return dataclasses.replace(
            target,
            findings=tuple(findings),
            score=compute_score(counted, RULES) if target.scanned else None,
        )

    def notices(self) -> list[str]:
        """One notice per expired suppression, counting the targets seen so far."""
        return [
            _expired_notice(suppression, hits)
            for suppression, hits in zip(self._expired, self._hits, strict=True)
        ]


def _expired_notice(suppression: Suppression, hits: int) -> str:
    where = f" ({suppression.source})" if suppression.source else ""
    return (
        f"suppression of {suppression.rule_id} for {suppression.target}{where} expired on "
        f"{suppression.expires}: it no longer suppresses anything "
        f"({hits} finding{'s' if hits != 1 else ''} now count{'s' if hits == 1 else ''})"
    )
