"""One target in one scan, as the store keeps it: the facts that later scans are compared with.

A :class:`Snapshot` holds what a comparison needs and nothing else: whether the target answered,
its score and grade, its findings (by fingerprint), which checks completed (so a finding that
disappeared is *fixed* only where its check ran again), and the certificates it served
(fingerprint, subject, issuer, validity). :func:`snapshot_of` builds one from a scan's
:class:`~keywire.TargetResult`; :mod:`keywire.store` reads them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field
from datetime import datetime, timezone

from .._dataclass import dataclass
from .._models import Confidence, Finding, OutcomeStatus, Severity, TargetResult
from ..scoring import GRADES

#: How many certificates of one served chain are kept (a hostile server may send hundreds).
MAX_CHAIN_CERTIFICATES = 10
#: How many served chains of one target are kept (one per key type in practice: RSA, ECDSA...).
MAX_CHAINS = 8


@dataclass(frozen=True, kw_only=True)
class CertFact:
    """A served certificate: ``chain`` is which served chain (0, 1...), ``position`` 0 the leaf."""

    sha256: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    chain: int = 0
    position: int = 0

    @property
    def is_leaf(self) -> bool:
        return self.position == 0

    def days_left(self, now: datetime) -> float:
        """Days until the certificate expires (negative once it has)."""
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True, kw_only=True)
class FindingFact:
    """A finding as the store keeps it (its evidence is already redacted)."""

    fingerprint: str
    rule_id: str
    severity: Severity
    confidence: Confidence = Confidence.HIGH
    message: str = ""
    location: str = ""
    evidence: tuple[tuple[str, str], ...] = ()
    suppressed: bool = False

    @classmethod
    def of(cls, finding: Finding) -> FindingFact:
        return cls(
            fingerprint=finding.fingerprint,
            rule_id=finding.rule_id,
            severity=finding.severity,
            confidence=finding.confidence,
            message=finding.message,
            location=finding.location,
            evidence=finding.evidence,
            suppressed=finding.suppression is not None,
        )


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    """One target in one scan. ``scan_id`` and ``result_id`` are the store's (None before)."""

    target: str
    scanned_at: datetime
    answered: bool
    error: str = ""
    score: int | None = None
    grade: str | None = None
    findings: tuple[FindingFact, ...] = ()
    #: check name → outcome status (``completed``, ``error``, ``skipped``)
    checks: Mapping[str, str] = field(default_factory=dict)
    certificates: tuple[CertFact, ...] = ()
    scan_id: int | None = None
    result_id: int | None = None

    @property
    def active_findings(self) -> tuple[FindingFact, ...]:
        """The findings that count (not suppressed)."""
        return tuple(f for f in self.findings if not f.suppressed)

    @property
    def leaves(self) -> tuple[CertFact, ...]:
        """The leaf certificate of each served chain."""
        return tuple(c for c in self.certificates if c.is_leaf)

    def completed(self, check: str) -> bool:
        """Whether ``check`` ran to completion on this target in this scan."""
        return self.answered and self.checks.get(check) == OutcomeStatus.COMPLETED.value


def grade_rank(grade: str | None) -> int | None:
    """Lower is better: ``A+`` is 0, ``F`` is 7; None for no grade (or one keywire never gives)."""
    return GRADES.index(grade) if grade in GRADES else None


def snapshot_of(result: TargetResult, *, scanned_at: datetime) -> Snapshot:
    """The snapshot of a scan's result for one target."""
    return Snapshot(
        target=result.target,
        scanned_at=scanned_at,
        answered=result.scanned,
        error=result.error,
        score=result.score.score if result.score is not None else None,
        grade=result.score.grade if result.score is not None else None,
        findings=tuple(FindingFact.of(f) for f in result.findings),
        checks={o.check: o.status.value for o in result.outcomes},
        certificates=certificates_of(result.details),
    )


def certificates_of(details: Mapping[str, object]) -> tuple[CertFact, ...]:
    """The certificates of a result's TLS details (``details["tls"]["certificates"]``).

    The details are a report's data, so every field is checked: what is not a certificate as
    the TLS check describes it is left out, never an error.
    """
    tls = details.get("tls")
    chains = tls.get("certificates") if isinstance(tls, Mapping) else None
    if not isinstance(chains, list):
        return ()
    facts: list[CertFact] = []
    seen: set[tuple[int, int]] = set()
    for chain_index, chain in enumerate(chains[:MAX_CHAINS]):
        served = chain.get("certificates") if isinstance(chain, Mapping) else None
        if not isinstance(served, list):
            continue
        for position, cert in enumerate(served[:MAX_CHAIN_CERTIFICATES]):
            fact = _cert_fact(cert, chain_index, position)
            if fact is not None and (chain_index, position) not in seen:
                seen.add((chain_index, position))
                facts.append(fact)
    return tuple(facts)


def _cert_fact(cert: object, chain: int, position: int) -> CertFact | None:
    if not isinstance(cert, Mapping):
        return None
    texts = [cert.get(k) for k in ("sha256", "subject", "issuer", "not_before", "not_after")]
    if not all(isinstance(t, str) for t in texts):
        return None
    sha256, subject, issuer, not_before, not_after = (str(t) for t in texts)
    start, end = parse_time(not_before), parse_time(not_after)
    if start is None or end is None or not sha256:
        return None
    serial = cert.get("serial")
    return CertFact(
        sha256=sha256.lower(),
        subject=subject,
        issuer=issuer,
        serial=serial if isinstance(serial, str) else "",
        not_before=start,
        not_after=end,
        chain=chain,
        position=position,
    )


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (a naive one is taken as UTC); None if invalid."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """The store's and the reports' form of a time: ISO 8601 in UTC, to the microsecond."""
    return moment.astimezone(timezone.utc).isoformat()


def fingerprints(findings: Iterable[FindingFact]) -> set[str]:
    return {f.fingerprint for f in findings}
