"""Snapshots built by hand: the facts the store keeps, without a scan or a database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from keywire._models import Severity, fingerprint
from keywire.checks import FAMILIES
from keywire.history.snapshot import CertFact, FindingFact, Snapshot

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
TARGET = "https://api.example.test/v1"
ALL_CHECKS = {f.name: "completed" for f in FAMILIES}


def fact(
    rule_id: str,
    severity: Severity = Severity.MEDIUM,
    *,
    location: str = "",
    target: str = TARGET,
    suppressed: bool = False,
    message: str = "",
) -> FindingFact:
    return FindingFact(
        fingerprint=fingerprint(rule_id, target, location),
        rule_id=rule_id,
        severity=severity,
        location=location,
        message=message or f"{rule_id} found",
        suppressed=suppressed,
    )


def cert(
    name: str,
    *,
    days: float = 90,
    issuer: str = "CN=lab CA",
    at: datetime = T0,
    chain: int = 0,
    position: int = 0,
) -> CertFact:
    return CertFact(
        sha256=(name.encode().hex() * 64)[:64],
        subject=f"CN={name}",
        issuer=issuer,
        serial="01",
        not_before=at - timedelta(days=1),
        not_after=at + timedelta(days=days),
        chain=chain,
        position=position,
    )


def snap(
    *findings: FindingFact,
    grade: str | None = "A",
    score: int | None = 95,
    at: datetime = T0,
    answered: bool = True,
    certs: tuple[CertFact, ...] = (),
    checks: dict[str, str] | None = None,
    target: str = TARGET,
    error: str = "",
    scan_id: int | None = None,
) -> Snapshot:
    return Snapshot(
        target=target,
        scanned_at=at,
        answered=answered,
        error=error,
        score=score if answered else None,
        grade=grade if answered else None,
        findings=findings,
        checks=dict(ALL_CHECKS if checks is None else checks) if answered else {},
        certificates=certs,
        scan_id=scan_id,
    )
