"""The data keywire's pipeline passes around: rules, findings, check outcomes and the report.

Everything here is a frozen, keyword-only dataclass: probes and checks build these values, reporters
read them, and nothing mutates them afterwards.

    Rule ──(check)──► Finding ─┐
                               ├─► TargetResult ─► ScanReport (+ Score)
    CheckOutcome ──────────────┘
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import sys
from collections.abc import Mapping
from dataclasses import field
from datetime import date, datetime

from ._dataclass import dataclass


class Severity(enum.Enum):
    """How much a finding matters, from ``info`` to ``critical``; comparable."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Confidence(enum.Enum):
    """How sure keywire is that a finding is real (bandit's scale)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Category(enum.Enum):
    """The score categories; every rule belongs to exactly one."""

    ENCRYPTION = "encryption"
    AUTHENTICATION = "authentication"
    DATA_EXPOSURE = "data_exposure"
    INPUT_VALIDATION = "input_validation"

    @property
    def title(self) -> str:
        return self.value.replace("_", " ").capitalize()


class BaselineState(enum.Enum):
    """How a finding compares with a baseline report (matched by fingerprint)."""

    NEW = "new"
    UNCHANGED = "unchanged"
    FIXED = "fixed"


class OutcomeStatus(enum.Enum):
    """Whether a check ran. Only ``completed`` means its silence is a pass."""

    COMPLETED = "completed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One entry of the rule catalogue. ``id`` is permanent: never renumbered, never reused."""

    id: str
    title: str
    cwe: tuple[int, ...]
    owasp_api: str
    category: Category
    severity: Severity
    description: str
    remediation: str
    references: tuple[str, ...]
    flask_fix: str = ""
    grade_cap: str | None = None
    retired: bool = False
    #: The rule whose weakness this one is a consequence of, seen from another category (e.g.
    #: KW111 "credentials in cleartext" from KW101 "served over cleartext"): one fix removes both,
    #: so the overall score counts them once (see :mod:`keywire.scoring`).
    root_cause: str | None = None
    #: The module that defines the rule (where to change its text), e.g.
    #: ``keywire.checks.hsts``; filled in from where the rule is made when not given.
    module: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.module:
            object.__setattr__(self, "module", _defining_module())

    @property
    def family(self) -> str:
        """The family that reports the rule (e.g. ``"hsts"``; ``"history"`` for KW630/KW631),
        as the registry says (:func:`keywire.registry.family_of`, the one place it is written)."""
        from .registry import family_of

        return family_of(self.id)

    @property
    def doc_path(self) -> str:
        """Where the rule's documentation lives, relative to the repository root."""
        return f"docs/rules/{self.id}.md"

    def finding(
        self,
        *,
        target: str,
        message: str,
        evidence: Mapping[str, str] | None = None,
        confidence: Confidence = Confidence.HIGH,
        severity: Severity | None = None,
        location: str = "",
    ) -> Finding:
        """Build a finding of this rule.

        ``location`` tells two findings of the same rule on the same target apart (a header name, a
        cookie name, a JSON path); it feeds the fingerprint, so keep it stable between scans.
        ``evidence`` must already be redacted: see :mod:`keywire.redact`.
        """
        return Finding(
            rule_id=self.id,
            target=target,
            severity=severity or self.severity,
            confidence=confidence,
            message=message,
            evidence=tuple((evidence or {}).items()),
            location=location,
            fingerprint=fingerprint(self.id, target, location),
        )


def fingerprint(rule_id: str, target: str, location: str) -> str:
    """A stable identity for a finding across scans: same rule, target and location, same value."""
    digest = hashlib.sha256(f"{rule_id}\x00{target}\x00{location}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One weakness found on one target. Evidence holds redacted strings only."""

    rule_id: str
    target: str
    severity: Severity
    confidence: Confidence
    message: str
    evidence: tuple[tuple[str, str], ...] = ()
    location: str = ""
    fingerprint: str = ""
    suppression: Suppression | None = None
    baseline: BaselineState | None = None

    @property
    def suppressed(self) -> bool:
        """Suppressed findings stay in reports but count for neither the score nor the gate."""
        return self.suppression is not None


@dataclass(frozen=True, kw_only=True)
class Suppression:
    """An accepted finding: rule ``rule_id`` on targets matching the glob ``target``.

    ``*`` in ``target`` matches any characters, ``/`` included. A suppression with an ``expires``
    date suppresses up to and including that day (UTC, judged on the scan's start date), and
    stops suppressing afterwards.
    """

    rule_id: str
    target: str
    reason: str
    expires: date | None = None
    source: str = ""

    def matches(self, finding: Finding) -> bool:
        return finding.rule_id == self.rule_id and fnmatch.fnmatchcase(finding.target, self.target)

    def expired_on(self, day: date) -> bool:
        return self.expires is not None and day > self.expires


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What a configuration file decides about findings: see :func:`keywire.apply_policy`."""

    skip_rules: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Gate:
    """When a scan fails a CI pipeline; evaluated by :func:`keywire.gate.evaluate`.

    ``fail_on``: any counted finding at least this severe fails (``None`` disables);
    ``fail_under``: an overall score below this fails; ``new_only``: the severity rule looks only
    at findings that are new since the baseline; ``allow_incomplete``: an incomplete scan (a
    target not scanned, a check not tested) is judged on what was tested instead of failing.
    """

    fail_on: Severity | None = Severity.HIGH
    fail_under: int | None = None
    new_only: bool = False
    allow_incomplete: bool = False


@dataclass(frozen=True, kw_only=True)
class BaselineComparison:
    """The previous report a scan was compared with, and what disappeared since.

    ``fixed`` are the baseline's findings whose check ran again on the same target and did not
    report them; ``not_retested`` are the ones whose target or check did not run this time, so
    nothing is known about them (an error is not a pass).
    """

    source: str
    started_at: str = ""
    fixed: tuple[Finding, ...] = ()
    not_retested: tuple[Finding, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CheckOutcome:
    """Whether one check ran on one target, and if not, why."""

    check: str
    target: str
    status: OutcomeStatus
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class TargetResult:
    """Everything keywire learned about one target URL."""

    target: str
    scanned: bool
    error: str = ""
    findings: tuple[Finding, ...] = ()
    outcomes: tuple[CheckOutcome, ...] = ()
    details: Mapping[str, object] = field(default_factory=dict)
    duration_s: float = 0.0
    score: Score | None = None
    #: What the checks judged, captured (JSON-ready; see :mod:`keywire.observations`), kept
    #: only when the scan saves observations. Reports never show it.
    observations: Mapping[str, object] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class CategoryScore:
    """One category's score and grade, with the caps that limited it."""

    category: Category
    score: int
    grade: str
    caps: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Score:
    """The deterministic score (see docs/scoring.md): 0-100 and a grade, overall and per category."""

    score: int
    grade: str
    categories: tuple[CategoryScore, ...]
    caps: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ScanReport:
    """The result of one scan: per-target results, the score and the scan's metadata."""

    tool_version: str
    started_at: datetime
    duration_s: float
    targets: tuple[TargetResult, ...]
    score: Score | None
    options: Mapping[str, object] = field(default_factory=dict)
    policy: Policy | None = None
    baseline: BaselineComparison | None = None
    gate: Gate | None = None
    notices: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, suppressed ones included."""
        return tuple(f for t in self.targets for f in t.findings)

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        """The findings that count for the score and the gate (not suppressed)."""
        return tuple(f for f in self.findings if f.suppression is None)

    @property
    def outcomes(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for t in self.targets for o in t.outcomes)

    @property
    def complete(self) -> bool:
        """False when any target could not be scanned or any check could not run."""
        return all(t.scanned for t in self.targets) and all(
            o.status is not OutcomeStatus.ERROR for o in self.outcomes
        )

    @property
    def scanned_any(self) -> bool:
        return any(t.scanned for t in self.targets)

    def worst_severity(self) -> Severity | None:
        """The worst severity among the findings that count (suppressed ones do not)."""
        return max((f.severity for f in self.active_findings), default=None)


def _defining_module() -> str:
    """The module whose code is making a :class:`Rule` (the caller of its ``__init__``, or of a
    helper in the same module that makes rules)."""
    frame = sys._getframe(3)  # _defining_module ← __post_init__ ← __init__ ← the maker
    return str(frame.f_globals.get("__name__", ""))
