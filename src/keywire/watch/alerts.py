"""Which changes raise an alert: a pure function from a target's alert state and its new result
to the alerts and the next state.

Alerts are about regressions, each raised once, each with a recovery notice:

============================== ============================================== ===================
alert                          raised when                                    recovery notice
============================== ============================================== ===================
``keywire.findings.new``       findings at or above ``--alert-on`` that the   ``findings.fixed``
                               target did not have (one alert per target and  when their check
                               scan, listing them)                            ran and they are
                                                                              gone
``keywire.grade.dropped``      the grade is worse than at the previous scan   ``grade.recovered``
                                                                              at the grade before
                                                                              the drop (or better)
``keywire.certificate.``       a served leaf certificate has crossed an       ``certificate.
``expiring``                   expiry threshold (``--expiry-days``, default   renewed`` when the
                               30, 14 and 7): once per threshold, the         target stops
                               smallest crossed (first seen 5 days before     serving it
                               expiry: the 7-day alert alone)
``keywire.target.unreachable`` the target stopped answering (or never did)    ``target.recovered``
============================== ============================================== ===================

The first time a target is seen (no alert state yet), its findings and grade are the baseline:
what it already had is not a regression, so it raises nothing. If the store holds an earlier
result of the target (a ``keywire scan`` before the watch started), that result is the baseline
and the first cycle alerts on what changed since. Expiry and unreachability are not regressions
of a baseline: they alert on the first cycle too.

Certificate expiry is judged from the certificates' dates, not from a rule's finding, so every
threshold fires exactly once whatever a scan reports. The single-scan rule for a certificate
that expires soon (:data:`EXPIRY_RULES`, when the catalogue has it) is left out of the
``findings.new`` alerts, and named in the expiry alerts instead: one fact, one alert.

The state is a JSON object (:func:`evaluate` returns the next one); the store keeps it per target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field
from datetime import datetime
from typing import Any

from .._dataclass import dataclass
from .._models import Severity
from ..history.rules import RULE_IDS as TIME_RULES
from ..history.snapshot import CertFact, FindingFact, Snapshot, format_time, grade_rank
from ..rules import RULES, family_of

STATE_VERSION = 1
DEFAULT_EXPIRY_DAYS: tuple[int, ...] = (30, 14, 7)
#: Single-scan rules about a certificate expiring soon; the expiry alerts stand for them.
EXPIRY_RULES: frozenset[str] = frozenset({"KW620"})

FINDINGS_NEW = "keywire.findings.new"
FINDINGS_FIXED = "keywire.findings.fixed"
GRADE_DROPPED = "keywire.grade.dropped"
GRADE_RECOVERED = "keywire.grade.recovered"
CERTIFICATE_EXPIRING = "keywire.certificate.expiring"
CERTIFICATE_RENEWED = "keywire.certificate.renewed"
TARGET_UNREACHABLE = "keywire.target.unreachable"
TARGET_RECOVERED = "keywire.target.recovered"
TYPES: tuple[str, ...] = (
    FINDINGS_NEW,
    FINDINGS_FIXED,
    GRADE_DROPPED,
    GRADE_RECOVERED,
    CERTIFICATE_EXPIRING,
    CERTIFICATE_RENEWED,
    TARGET_UNREACHABLE,
    TARGET_RECOVERED,
)


@dataclass(frozen=True, kw_only=True)
class AlertPolicy:
    """What is worth an alert: findings at or above ``min_severity``; ``expiry_days`` thresholds."""

    min_severity: Severity = Severity.MEDIUM
    expiry_days: tuple[int, ...] = DEFAULT_EXPIRY_DAYS

    def __post_init__(self) -> None:
        if any(d < 0 or d > 3650 for d in self.expiry_days):
            raise ValueError("expiry thresholds are days from 0 to 3650")
        object.__setattr__(self, "expiry_days", tuple(sorted(set(self.expiry_days), reverse=True)))


@dataclass(frozen=True, kw_only=True)
class AlertEvent:
    """One alert. ``payload()`` is its body as the webhook carries it (without the ID)."""

    type: str
    target: str
    occurred_at: datetime
    summary: str
    severity: Severity
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def recovery(self) -> bool:
        return self.type in (FINDINGS_FIXED, GRADE_RECOVERED, CERTIFICATE_RENEWED, TARGET_RECOVERED)

    def payload(self, alert_id: str) -> dict[str, Any]:
        """The Standard Webhooks payload: ``type``, ``timestamp`` (when it happened), ``data``."""
        return {
            "id": alert_id,
            "type": self.type,
            "timestamp": format_time(self.occurred_at),
            "data": {
                "target": self.target,
                "summary": self.summary,
                "severity": self.severity.value,
                "recovery": self.recovery,
                **self.data,
            },
        }


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    events: tuple[AlertEvent, ...]
    state: dict[str, Any]


def _finding(f: FindingFact) -> dict[str, Any]:
    rule = RULES.get(f.rule_id)
    return {
        "fingerprint": f.fingerprint,
        "rule_id": f.rule_id,
        "title": rule.title if rule is not None else f.rule_id,
        "severity": f.severity.value,
        "message": f.message,
        "location": f.location,
    }


def _cert(c: CertFact, now: datetime) -> dict[str, Any]:
    return {
        "sha256": c.sha256,
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "not_after": format_time(c.not_after),
        "days_left": int(c.days_left(now) // 1),
    }


def _qualifying(snapshot: Snapshot, policy: AlertPolicy) -> dict[str, FindingFact]:
    return {
        f.fingerprint: f
        for f in snapshot.active_findings
        if f.severity >= policy.min_severity
        and f.rule_id not in TIME_RULES
        and f.rule_id not in EXPIRY_RULES
    }


def initial_state(baseline: Snapshot | None, policy: AlertPolicy) -> dict[str, Any]:
    """The state before the first evaluation: ``baseline``'s findings and grade count as known."""
    state: dict[str, Any] = {
        "v": STATE_VERSION,
        "grade": None,
        "grade_before_drop": None,
        "down": False,
        "down_since": None,
        "findings": {},
        "certificates": {},
    }
    if baseline is not None and baseline.answered:
        state["grade"] = baseline.grade
        state["findings"] = {
            fp: _finding(f) for fp, f in sorted(_qualifying(baseline, policy).items())
        }
    return state


def evaluate(
    state: Mapping[str, Any] | None,
    previous: Snapshot | None,
    current: Snapshot,
    *,
    policy: AlertPolicy,
    now: datetime,
) -> Evaluation:
    """The alerts ``current`` raises and the next state.

    ``state`` is the target's alert state (None the first time); ``previous`` its result before
    ``current`` in the store, used as the baseline when there is no state yet.
    """
    if state is None or state.get("v") != STATE_VERSION:
        state = initial_state(previous if previous is not None else current, policy)
    next_state: dict[str, Any] = {
        "v": STATE_VERSION,
        "grade": state.get("grade"),
        "grade_before_drop": state.get("grade_before_drop"),
        "down": bool(state.get("down")),
        "down_since": state.get("down_since"),
        "findings": dict(state.get("findings") or {}),
        "certificates": dict(state.get("certificates") or {}),
    }
    events: list[AlertEvent] = []

    def event(kind: str, summary: str, severity: Severity, **data: Any) -> None:
        events.append(
            AlertEvent(
                type=kind,
                target=current.target,
                occurred_at=now,
                summary=summary,
                severity=severity,
                data={
                    "scan_id": current.scan_id,
                    "scanned_at": format_time(current.scanned_at),
                    **data,
                },
            )
        )

    if not current.answered:
        if not next_state["down"]:
            next_state["down"], next_state["down_since"] = True, format_time(current.scanned_at)
            event(
                TARGET_UNREACHABLE,
                f"{current.target} does not answer: {current.error or 'no response'}",
                Severity.HIGH,
                error=current.error,
            )
        return Evaluation(events=tuple(events), state=next_state)
    if next_state["down"]:
        event(
            TARGET_RECOVERED,
            f"{current.target} answers again",
            Severity.INFO,
            down_since=next_state["down_since"],
        )
        next_state["down"], next_state["down_since"] = False, None

    _findings(next_state, current, policy, event)
    _grade(next_state, current, event)
    _certificates(next_state, current, policy, now, event)
    return Evaluation(events=tuple(events), state=next_state)


def _findings(state: dict[str, Any], current: Snapshot, policy: AlertPolicy, event: Any) -> None:
    known: dict[str, Any] = state["findings"]
    qualifying = _qualifying(current, policy)
    present = {f.fingerprint for f in current.findings}
    new = [f for fp, f in qualifying.items() if fp not in known]
    fixed = []
    for fp, item in sorted(known.items()):
        if fp in qualifying:
            continue
        if fp in present:  # still there, now suppressed or below --alert-on: no longer tracked
            del known[fp]
        elif current.completed(family_of(str(item.get("rule_id", "")))):
            fixed.append(item)
            del known[fp]
        # else: its check did not run this time; nothing is known, it stays open
    for f in new:
        known[f.fingerprint] = _finding(f)
    if new:
        new.sort(key=lambda f: (-f.severity.rank, f.rule_id, f.location))
        worst = new[0].severity
        titles = ", ".join(f"{f.rule_id} ({f.severity.value})" for f in new[:5])
        more = f" and {len(new) - 5} more" if len(new) > 5 else ""
        event(
            FINDINGS_NEW,
            f"{current.target}: {len(new)} new finding(s): {titles}{more}",
            worst,
            findings=[_finding(f) for f in new],
            grade=current.grade,
            score=current.score,
        )
    if fixed:
        titles = ", ".join(str(item.get("rule_id")) for item in fixed[:5])
        more = f" and {len(fixed) - 5} more" if len(fixed) > 5 else ""
        event(
            FINDINGS_FIXED,
            f"{current.target}: {len(fixed)} finding(s) fixed: {titles}{more}",
            Severity.INFO,
            findings=fixed,
            grade=current.grade,
            score=current.score,
        )


def _grade(state: dict[str, Any], current: Snapshot, event: Any) -> None:
    grade = current.grade
    now_rank = grade_rank(grade)
    if grade is None or now_rank is None:
        return
    before = state.get("grade")
    before_rank = grade_rank(before)
    reference = state.get("grade_before_drop")
    if before_rank is not None and now_rank > before_rank:
        event(
            GRADE_DROPPED,
            f"{current.target}: grade dropped from {before} to {grade} (score {current.score})",
            Severity.MEDIUM,
            previous_grade=before,
            grade=grade,
            score=current.score,
        )
        if reference is None:
            state["grade_before_drop"] = before
    elif reference is not None and (grade_rank(reference) or 0) >= now_rank:
        event(
            GRADE_RECOVERED,
            f"{current.target}: grade back to {grade} (it was {reference} before the drop)",
            Severity.INFO,
            previous_grade=before,
            grade=grade,
            score=current.score,
        )
        state["grade_before_drop"] = None
    state["grade"] = grade


def _expiry_severity(threshold: int) -> Severity:
    if threshold <= 7:
        return Severity.HIGH
    return Severity.MEDIUM if threshold <= 14 else Severity.LOW


def _certificates(
    state: dict[str, Any], current: Snapshot, policy: AlertPolicy, now: datetime, event: Any
) -> None:
    fired: dict[str, Any] = state["certificates"]
    leaves = {c.sha256: c for c in current.leaves}
    expiry_rule = next((r for r in sorted(EXPIRY_RULES) if r in RULES), None)
    for sha, cert in leaves.items():
        days = cert.days_left(now)
        crossed = [t for t in policy.expiry_days if days <= t]
        if not crossed:
            continue
        threshold = min(crossed)
        already = fired.get(sha, {}).get("threshold")
        if isinstance(already, int) and already <= threshold:
            continue
        fired[sha] = {**_cert(cert, now), "threshold": threshold}
        when = "has expired" if days < 0 else f"expires in {int(days // 1)} day(s)"
        event(
            CERTIFICATE_EXPIRING,
            f"{current.target}: the certificate {cert.subject} {when} "
            f"({cert.not_after:%Y-%m-%d}; threshold {threshold} days)",
            _expiry_severity(threshold),
            threshold_days=threshold,
            certificate=_cert(cert, now),
            **({"rule_id": expiry_rule} if expiry_rule else {}),
        )
    if not leaves or not current.completed("tls"):
        return  # no certificate seen this time: nothing is known about the old ones
    for sha in sorted(set(fired) - set(leaves)):
        old = fired.pop(sha)
        event(
            CERTIFICATE_RENEWED,
            f"{current.target}: the expiring certificate {old.get('subject', '')} is no longer "
            "served",
            Severity.INFO,
            previous_certificate=old,
            certificates=[_cert(c, now) for c in leaves.values()],
        )


def describe(events: Iterable[AlertEvent]) -> list[str]:
    """One line per event, for the watch's log."""
    return [f"{e.type.removeprefix('keywire.')}: {e.summary}" for e in events]


__all__ = [
    "CERTIFICATE_EXPIRING",
    "CERTIFICATE_RENEWED",
    "DEFAULT_EXPIRY_DAYS",
    "EXPIRY_RULES",
    "FINDINGS_FIXED",
    "FINDINGS_NEW",
    "GRADE_DROPPED",
    "GRADE_RECOVERED",
    "TARGET_RECOVERED",
    "TARGET_UNREACHABLE",
    "TYPES",
    "AlertEvent",
    "AlertPolicy",
    "Evaluation",
    "describe",
    "evaluate",
    "initial_state",
]
