"""Baselines: compare a scan with a previous keywire JSON report.

Findings are matched by fingerprint (rule, target and location; see :func:`keywire._models.fingerprint`):

- a current finding whose fingerprint is in the baseline is ``unchanged``, any other is ``new``;
- a baseline finding that is gone is ``fixed`` only if its check ran to completion on the same
  target this time; if the target or the check did not run, it is listed as *not re-tested*,
  because an error is not a pass.

>>> baseline = load_baseline("previous.json")  # doctest: +SKIP
>>> report = compare_baseline(report, baseline)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _json
from ._dataclass import dataclass
from ._models import (
    BaselineComparison,
    BaselineState,
    Confidence,
    Finding,
    OutcomeStatus,
    ScanReport,
    Severity,
    TargetResult,
)
from .rules import family_of

MAX_BASELINE_BYTES = 64 * 1024 * 1024


class BaselineError(ValueError):
    """The baseline file cannot be read or is not a keywire JSON report."""


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """The findings of an earlier report, to tell new findings from known ones."""

    source: str
    started_at: str
    findings: tuple[Finding, ...]


def load_baseline(path: str | Path) -> Baseline:
    """Read a keywire JSON report (``--format json``, schema 1.x) as a baseline."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {str(path)!r}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BASELINE_BYTES:
        raise BaselineError(f"baseline {str(path)!r} is larger than 64 MiB")
    try:
        document = _json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise BaselineError(f"baseline {str(path)!r} is not JSON: {exc}") from exc
    return parse_baseline(document, source=str(path))


def parse_baseline(document: object, *, source: str) -> Baseline:
    """A baseline from an already-decoded keywire JSON report."""

    def fail(why: str) -> BaselineError:
        return BaselineError(f"baseline {source!r} is not a keywire JSON report: {why}")

    if not isinstance(document, Mapping):
        raise fail("not a JSON object")
    version = document.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise fail(f"unsupported schema_version {version!r} (expected 1.x)")
    targets = document.get("targets")
    if not isinstance(targets, list):
        raise fail("no 'targets' list")
    findings: list[Finding] = []
    for t_index, target in enumerate(targets):
        if not isinstance(target, Mapping) or not isinstance(target.get("findings"), list):
            raise fail(f"targets[{t_index}] has no 'findings' list")
        for f_index, item in enumerate(target["findings"]):
            try:
                findings.append(_finding(item))
            except (KeyError, TypeError, ValueError) as exc:
                raise fail(f"targets[{t_index}].findings[{f_index}]: {exc!r}") from exc
    started = document.get("started_at")
    return Baseline(
        source=source,
        started_at=started if isinstance(started, str) else "",
        findings=tuple(findings),
    )


def _finding(item: Any) -> Finding:
    evidence = item.get("evidence") or {}
    return Finding(
        rule_id=str(item["rule_id"]),
        target=str(item["target"]),
        severity=Severity(item["severity"]),
        confidence=Confidence(item.get("confidence", "high")),
        message=str(item.get("message", "")),
        evidence=tuple((str(k), str(v)) for k, v in dict(evidence).items()),
        location=str(item.get("location", "")),
        fingerprint=str(item["fingerprint"]),
        baseline=BaselineState.FIXED,
    )


def compare_baseline(report: ScanReport, baseline: Baseline) -> ScanReport:
    """The report with every finding marked new or unchanged, and the fixed ones listed."""
    comparer = BaselineComparer(baseline)
    targets = tuple(comparer.target(target) for target in report.targets)
    comparison, notice = comparer.comparison()
    return dataclasses.replace(
        report,
        targets=targets,
        baseline=comparison,
        notices=report.notices + ((notice,) if notice else ()),
    )


class BaselineComparer:
    """A baseline comparison made one target at a time (a fleet's results are never all in
    memory). It keeps only what the baseline's own findings need: which of them were seen
    again, and on which of their targets their check completed."""

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self._previous = {f.fingerprint for f in baseline.findings}
        self._targets = {f.target for f in baseline.findings}
        self._seen: set[str] = set()
        self._completed: set[tuple[str, str]] = set()

    def target(self, target: TargetResult) -> TargetResult:
        """``target`` with each finding marked new or unchanged."""
        findings = []
        for finding in target.findings:
            known = finding.fingerprint in self._previous
            if known:
                self._seen.add(finding.fingerprint)
            state = BaselineState.UNCHANGED if known else BaselineState.NEW
            findings.append(dataclasses.replace(finding, baseline=state))
        if target.scanned:
            for outcome in target.outcomes:
                if outcome.status is OutcomeStatus.COMPLETED and outcome.target in self._targets:
                    self._completed.add((outcome.target, outcome.check))
        return dataclasses.replace(target, findings=tuple(findings))

    def comparison(self) -> tuple[BaselineComparison, str]:
        """What disappeared since the baseline (fixed, or not re-tested), and the notice the
        report carries when something could not be re-tested ("" when nothing)."""
        fixed: list[Finding] = []
        not_retested: list[Finding] = []
        listed: set[str] = set()
        for finding in self.baseline.findings:
            if finding.fingerprint in self._seen or finding.fingerprint in listed:
                continue
            listed.add(finding.fingerprint)
            if (finding.target, family_of(finding.rule_id)) in self._completed:
                fixed.append(finding)
            else:
                not_retested.append(finding)
        notice = ""
        if not_retested:
            n = len(not_retested)
            notice = (
                f"{n} finding{'s' if n != 1 else ''} of the baseline {self.baseline.source} "
                "could not be re-tested (target or check not run): neither fixed nor present"
            )
        comparison = BaselineComparison(
            source=self.baseline.source,
            started_at=self.baseline.started_at,
            fixed=tuple(fixed),
            not_retested=tuple(not_retested),
        )
        return comparison, notice
