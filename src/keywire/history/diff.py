"""What changed between two scans of the same targets: new, fixed, unchanged and not re-tested.

Findings are matched by fingerprint (rule, target and location), as baselines match them:

- a finding of the later scan that the earlier one did not have is **new**; one both have is
  **unchanged**;
- a finding of the earlier scan that the later one does not have is **fixed** only if its check
  ran to completion on the target in the later scan; if the target did not answer or the check
  did not run, nothing is known about it and it is **not re-tested** (an error is not a pass).

Suppressed findings of the later scan are neither new nor unchanged (they count for nothing), and
a finding that is merely suppressed now is not fixed. The rules that are themselves about change
(KW630, KW631) are left out of the lists: the diff shows the grade and the certificates directly.

Which results are compared (:func:`select`): by default each target's two newest results; with
one scan, each of its results against the target's result before it; with two scans, the
targets they share (and which targets only one of them has).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._dataclass import dataclass
from .._models import Severity
from ..rules import family_of
from .rules import RULE_IDS as TIME_RULES
from .snapshot import CertFact, FindingFact, Snapshot, grade_rank

if TYPE_CHECKING:
    from ..store import Transaction


class DiffError(ValueError):
    """The scans asked for are not in the store (a usage error)."""


@dataclass(frozen=True, kw_only=True)
class TargetDiff:
    """One target, earlier result → later result (``before`` None: its first scan)."""

    target: str
    before: Snapshot | None
    after: Snapshot
    new: tuple[FindingFact, ...] = ()
    fixed: tuple[FindingFact, ...] = ()
    unchanged: tuple[FindingFact, ...] = ()
    not_retested: tuple[FindingFact, ...] = ()
    #: Leaf certificates served now that were not served before.
    certificates_replaced: tuple[CertFact, ...] = ()

    @property
    def grade_change(self) -> str:
        """``dropped``, ``improved``, ``same``, or ``unknown`` (a side without a grade)."""
        before = grade_rank(self.before.grade) if self.before is not None else None
        after = grade_rank(self.after.grade)
        if before is None or after is None:
            return "unknown"
        if after > before:
            return "dropped"
        return "improved" if after < before else "same"

    @property
    def changed(self) -> bool:
        return bool(
            self.new
            or self.fixed
            or self.certificates_replaced
            or self.grade_change in ("dropped", "improved")
            or (self.before is not None and self.before.answered != self.after.answered)
        )


@dataclass(frozen=True, kw_only=True)
class Diff:
    """The comparison: one :class:`TargetDiff` per target, and what could not be paired."""

    description: str
    targets: tuple[TargetDiff, ...]
    #: Targets of the earlier scan that the later one did not scan (two scans compared).
    only_before: tuple[Snapshot, ...] = ()

    def new_at_or_above(self, severity: Severity) -> list[FindingFact]:
        return [f for t in self.targets for f in t.new if f.severity >= severity]


def _sort(findings: Sequence[FindingFact]) -> tuple[FindingFact, ...]:
    return tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.location)))


def diff_snapshots(before: Snapshot | None, after: Snapshot) -> TargetDiff:
    """Compare one target's ``before`` result with its ``after`` result."""
    counted = [f for f in after.findings if f.rule_id not in TIME_RULES]
    now_all = {f.fingerprint for f in counted}
    earlier = [] if before is None else [f for f in before.findings if f.rule_id not in TIME_RULES]
    then_all = {f.fingerprint for f in earlier}
    new = [f for f in counted if not f.suppressed and f.fingerprint not in then_all]
    unchanged = [f for f in counted if not f.suppressed and f.fingerprint in then_all]
    fixed: list[FindingFact] = []
    not_retested: list[FindingFact] = []
    for finding in earlier:
        if finding.suppressed or finding.fingerprint in now_all:
            continue
        if after.completed(family_of(finding.rule_id)):
            fixed.append(finding)
        else:
            not_retested.append(finding)
    replaced: tuple[CertFact, ...] = ()
    if before is not None and before.leaves and after.answered:
        known = {c.sha256 for c in before.leaves}
        replaced = tuple(c for c in after.leaves if c.sha256 not in known)
    return TargetDiff(
        target=after.target,
        before=before,
        after=after,
        new=_sort(new),
        fixed=_sort(fixed),
        unchanged=_sort(unchanged),
        not_retested=_sort(not_retested),
        certificates_replaced=replaced,
    )


def select(
    tx: Transaction, scans: Sequence[int], *, targets: Sequence[str] = (), evidence: bool = True
) -> Diff:
    """The comparison ``keywire diff [SCAN] [SCAN]`` shows (see the module documentation).

    ``targets`` limits it to those target URLs; ``evidence=False`` leaves the findings' evidence
    out (faster). Raises :class:`DiffError` for an unknown scan.
    """
    wanted = set(targets)

    def keep(url: str) -> bool:
        return not wanted or url in wanted

    for scan_id in scans:
        if tx.scan(scan_id) is None:
            raise DiffError(
                f"there is no scan {scan_id} in the store (`keywire history` lists them)"
            )
    if not scans:
        pairs: list[TargetDiff] = []
        for url, latest in tx.newest(per_target=2, evidence=evidence).items():
            if keep(url):
                pairs.append(diff_snapshots(latest[1] if len(latest) > 1 else None, latest[0]))
        return Diff(description="the last two scans of each target", targets=tuple(pairs))
    if len(scans) == 1:
        pairs = [
            diff_snapshots(
                tx.latest(result.target, before=result.result_id, evidence=evidence), result
            )
            for result in tx.results_of_scan(scans[0], evidence=evidence)
            if keep(result.target)
        ]
        return Diff(
            description=f"scan {scans[0]} against each target's previous scan",
            targets=tuple(pairs),
        )
    if len(scans) != 2:
        raise DiffError("diff compares at most two scans")
    first, second = scans
    earlier = {r.target: r for r in tx.results_of_scan(first, evidence=evidence) if keep(r.target)}
    later = [r for r in tx.results_of_scan(second, evidence=evidence) if keep(r.target)]
    pairs = [diff_snapshots(earlier.get(r.target), r) for r in later]
    seen = {r.target for r in later}
    return Diff(
        description=f"scan {first} → scan {second}",
        targets=tuple(pairs),
        only_before=tuple(r for url, r in sorted(earlier.items()) if url not in seen),
    )
