"""Rules only time can show: what changed on a target since its previous scan in the store.

A single scan cannot tell that a certificate is new or that a grade fell; the store can. When a
scan is recorded (``keywire scan`` without ``--no-store``, each cycle of ``keywire watch``), each
target's result is compared with the previous result of the same target in the store:

- **Certificate replaced** (KW630, info): a leaf certificate the target serves now was not among
  the leaves it served at the previous scan. Usually a renewal; an unexpected one (before the old
  certificate was due, from another issuer) can mean a mis-issued certificate or interception,
  and clients that pin the old certificate or key stop working.
- **Grade dropped** (KW631, info): the target's grade is worse than at the previous scan. The
  findings behind the drop already count for the score and the gate; this finding says that they
  are a regression, and since when.

Both are *info*: they change neither the score nor the grade (the findings that caused a drop are
counted once, where they belong). ``keywire watch`` turns a grade drop into an alert, and a
certificate nearing its expiry into one alert per threshold crossed (``--expiry-days``, default
30, 14 and 7 days); see :mod:`keywire.watch.alerts`. A target without a previous answered scan in
the store has nothing to compare with, so neither rule applies to it.
"""

from __future__ import annotations

from .._models import Category, Finding, Rule, Severity
from .snapshot import CertFact, Snapshot, grade_rank

_TLS_CHEATSHEET = (
    "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html"
)

CERTIFICATE_REPLACED = Rule(
    id="KW630",
    title="Certificate replaced since the last scan",
    cwe=(295,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.INFO,
    description=(
        "The target serves a leaf certificate that it did not serve at its previous scan in the "
        "store. A planned renewal looks like this; an unplanned replacement (early, from another "
        "issuer, with another key) can mean a mis-issued certificate or an interception device, "
        "and clients that pin the previous certificate or key fail."
    ),
    remediation=(
        "Confirm the change was planned: compare the new certificate's issuer, key and validity "
        "with the evidence, and watch Certificate Transparency logs for certificates of your "
        "names that you did not request."
    ),
    references=("https://www.rfc-editor.org/rfc/rfc9162", _TLS_CHEATSHEET),
)

GRADE_DROPPED = Rule(
    id="KW631",
    title="Grade dropped since the last scan",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.INFO,
    description=(
        "The target's grade is worse than at its previous scan in the store: something that "
        "protected it was removed or weakened (a dropped HSTS header, a newly enabled protocol "
        "or port, a certificate problem). The findings that caused the drop are reported on "
        "their own; this one marks them as a regression."
    ),
    remediation=(
        "Look at the findings that are new since the previous scan (`keywire diff` lists "
        "them), and undo or fix the change that introduced them."
    ),
    references=(
        "https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/",
        "https://github.com/ssllabs/research/wiki/SSL-Server-Rating-Guide",
    ),
)

RULES: tuple[Rule, ...] = (CERTIFICATE_REPLACED, GRADE_DROPPED)
RULE_IDS: frozenset[str] = frozenset(r.id for r in RULES)


def time_findings(previous: Snapshot | None, current: Snapshot) -> list[Finding]:
    """The findings of these rules on ``current``, compared with the target's ``previous``
    result (the newest before it, or None)."""
    if previous is None or not previous.answered or not current.answered:
        return []
    findings = _replaced(previous, current)
    dropped = _dropped(previous, current)
    if dropped is not None:
        findings.append(dropped)
    return findings


def _when(snapshot: Snapshot) -> str:
    return snapshot.scanned_at.strftime("%Y-%m-%d %H:%M UTC")


def _replaced(previous: Snapshot, current: Snapshot) -> list[Finding]:
    before = {c.sha256: c for c in previous.leaves}
    if not before:
        return []  # nothing to compare with (the TLS check did not run, or no HTTPS side)
    findings = []
    for leaf in current.leaves:
        if leaf.sha256 in before:
            continue
        old = _counterpart(leaf, previous.leaves)
        evidence = {
            "sha256": leaf.sha256,
            "subject": leaf.subject,
            "issuer": leaf.issuer,
            "not_after": leaf.not_after.isoformat(),
            "previous_sha256": old.sha256,
            "previous_issuer": old.issuer,
            "previous_not_after": old.not_after.isoformat(),
            "previous_scan": previous.scanned_at.isoformat(),
        }
        issuer = "the same issuer" if old.issuer == leaf.issuer else f"a new issuer ({leaf.issuer})"
        findings.append(
            CERTIFICATE_REPLACED.finding(
                target=current.target,
                message=(
                    f"The certificate changed since the scan of {_when(previous)}: "
                    f"{leaf.subject}, from {issuer}, valid until "
                    f"{leaf.not_after:%Y-%m-%d} (was valid until {old.not_after:%Y-%m-%d})."
                ),
                evidence=evidence,
                location=f"sha256:{leaf.sha256}",
            )
        )
    return findings


def _counterpart(leaf: CertFact, previous: tuple[CertFact, ...]) -> CertFact:
    """The previous leaf this one replaced: the one of the same chain, else the first."""
    return next((c for c in previous if c.chain == leaf.chain), previous[0])


def _dropped(previous: Snapshot, current: Snapshot) -> Finding | None:
    before, now = grade_rank(previous.grade), grade_rank(current.grade)
    if before is None or now is None or now <= before:
        return None
    return GRADE_DROPPED.finding(
        target=current.target,
        message=(
            f"The grade dropped from {previous.grade} to {current.grade} since the scan of "
            f"{_when(previous)} (score {previous.score} → {current.score})."
        ),
        evidence={
            "previous_grade": str(previous.grade),
            "previous_score": str(previous.score),
            "grade": str(current.grade),
            "score": str(current.score),
            "previous_scan": previous.scanned_at.isoformat(),
        },
        location=f"{previous.grade}->{current.grade}",
    )
