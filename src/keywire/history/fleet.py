"""The fleet overview (``keywire report --store FILE``): every API's current grade and its trend,
the certificates that expire soonest, and the newest regressions.

:func:`build_fleet` reads the store once (one read transaction) into a :class:`Fleet`; the
renderers are pure. The HTML page is self-contained like the scan report: inline CSS and SVG
(the trend sparklines are SVG polylines drawn from the scores), no script, no request to
anywhere, a Content-Security-Policy that allows nothing else, and every string from a target
made visible and escaped (:mod:`keywire.reporters._htmlpage`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._dataclass import dataclass
from .._display import json_inert
from .._models import Severity
from ..rules import RULES
from ..scoring import GRADES
from .diff import diff_snapshots
from .snapshot import CertFact, FindingFact, Snapshot, format_time, grade_rank

if TYPE_CHECKING:
    from ..store import Transaction

FORMATS: tuple[str, ...] = ("html", "json")
FLEET_SCHEMA_VERSION = "1.0"
#: Regressions at or above this severity are listed (info findings are not regressions).
REGRESSION_SEVERITY = Severity.LOW


@dataclass(frozen=True, kw_only=True)
class FleetRow:
    """One API: its newest result and its score over its newest results (oldest first)."""

    target: str
    latest: Snapshot
    series: tuple[tuple[datetime, int | None], ...]
    results: int


@dataclass(frozen=True, kw_only=True)
class ExpiringCertificate:
    target: str
    certificate: CertFact
    days_left: float


@dataclass(frozen=True, kw_only=True)
class Regression:
    """A change for the worse at a target's newest scan: a new finding, or a grade drop."""

    target: str
    at: datetime
    finding: FindingFact | None = None
    previous_grade: str | None = None
    grade: str | None = None


@dataclass(frozen=True, kw_only=True)
class Fleet:
    generated_at: datetime
    rows: tuple[FleetRow, ...]
    expiring: tuple[ExpiringCertificate, ...]
    regressions: tuple[Regression, ...]
    scans: int

    def grade_counts(self) -> list[tuple[str, int]]:
        counts = Counter(r.latest.grade if r.latest.answered else "x" for r in self.rows)
        return [(g, counts[g]) for g in (*GRADES, "x") if counts[g]]


def _row_key(row: FleetRow) -> tuple[int, str]:
    rank = grade_rank(row.latest.grade) if row.latest.answered else len(GRADES)
    return (-(rank if rank is not None else len(GRADES)), row.target)


def build_fleet(
    tx: Transaction,
    *,
    now: datetime,
    series: int = 30,
    expiring: int = 20,
    regressions: int = 50,
) -> Fleet:
    """The overview of every target in the store (worst grade first)."""
    rows: list[FleetRow] = []
    certs: list[ExpiringCertificate] = []
    found: list[Regression] = []
    counts = {t.url: t.results for t in tx.targets()}
    scores = tx.score_series_all(limit=series)
    for url, latest in tx.newest(per_target=2, evidence=False).items():
        newest = latest[0]
        rows.append(
            FleetRow(
                target=url,
                latest=newest,
                series=tuple(scores.get(url, ())),
                results=counts.get(url, len(latest)),
            )
        )
        if newest.answered:
            for leaf in newest.leaves:
                certs.append(
                    ExpiringCertificate(target=url, certificate=leaf, days_left=leaf.days_left(now))
                )
        if len(latest) == 2:
            change = diff_snapshots(latest[1], newest)
            for finding in change.new:
                if finding.severity >= REGRESSION_SEVERITY:
                    found.append(Regression(target=url, at=newest.scanned_at, finding=finding))
            if change.grade_change == "dropped":
                found.append(
                    Regression(
                        target=url,
                        at=newest.scanned_at,
                        previous_grade=latest[1].grade,
                        grade=newest.grade,
                    )
                )
    certs.sort(key=lambda c: (c.certificate.not_after, c.target))
    found.sort(
        key=lambda r: (
            -r.at.timestamp(),
            r.finding is not None,
            -(r.finding.severity.rank if r.finding else 0),
            r.target,
        )
    )
    return Fleet(
        generated_at=now,
        rows=tuple(sorted(rows, key=_row_key)),
        expiring=tuple(certs[:expiring]),
        regressions=tuple(found[:regressions]),
        scans=tx.scan_count(),
    )


# -- JSON -------------------------------------------------------------------------------------


def fleet_dict(fleet: Fleet) -> dict[str, Any]:
    return {
        "schema_version": FLEET_SCHEMA_VERSION,
        "kind": "keywire-fleet",
        "generated_at": format_time(fleet.generated_at),
        "scans": fleet.scans,
        "targets": [
            {
                "target": r.target,
                "answered": r.latest.answered,
                "error": r.latest.error,
                "grade": r.latest.grade,
                "score": r.latest.score,
                "scanned_at": format_time(r.latest.scanned_at),
                "scan_id": r.latest.scan_id,
                "results": r.results,
                "findings": _counts(r.latest.active_findings),
                "trend": [
                    {"scanned_at": format_time(at), "score": score} for at, score in r.series
                ],
            }
            for r in fleet.rows
        ],
        "expiring_certificates": [
            {
                "target": c.target,
                "subject": c.certificate.subject,
                "issuer": c.certificate.issuer,
                "sha256": c.certificate.sha256,
                "not_after": format_time(c.certificate.not_after),
                "days_left": int(c.days_left // 1),
            }
            for c in fleet.expiring
        ],
        "regressions": [
            {
                "target": r.target,
                "at": format_time(r.at),
                "kind": "finding" if r.finding is not None else "grade",
                **(
                    {
                        "rule_id": r.finding.rule_id,
                        "title": _title(r.finding.rule_id),
                        "severity": r.finding.severity.value,
                        "message": r.finding.message,
                        "fingerprint": r.finding.fingerprint,
                    }
                    if r.finding is not None
                    else {"previous_grade": r.previous_grade, "grade": r.grade}
                ),
            }
            for r in fleet.regressions
        ],
    }


def _counts(findings: Sequence[FindingFact]) -> dict[str, int]:
    counts = {s.value: 0 for s in reversed(Severity)}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


def _title(rule_id: str) -> str:
    rule = RULES.get(rule_id)
    return rule.title if rule is not None else rule_id


# -- HTML -------------------------------------------------------------------------------------

SPARK_WIDTH, SPARK_HEIGHT = 140, 28


def sparkline(series: Sequence[tuple[datetime, int | None]]) -> dict[str, Any]:
    """An inline SVG sparkline of scores 0-100: polyline segments (a gap where the target did not
    answer) and the last point. Numbers only: nothing from a target reaches the SVG."""
    n = len(series)
    step = (SPARK_WIDTH - 6) / max(1, n - 1)
    segments: list[str] = []
    current: list[str] = []
    last: tuple[float, float] | None = None
    for i, (_, score) in enumerate(series):
        if score is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = 3 + (i * step if n > 1 else (SPARK_WIDTH - 6) / 2)
        y = 3 + (100 - max(0, min(100, score))) * (SPARK_HEIGHT - 6) / 100
        current.append(f"{x:.1f},{y:.1f}")
        last = (x, y)
    if current:
        segments.append(" ".join(current))
    scores = [s for _, s in series if s is not None]
    label = (
        "score over the last {} scans: {}".format(n, ", ".join(str(s) for s in scores))
        if scores
        else "no score yet"
    )
    return {
        "width": SPARK_WIDTH,
        "height": SPARK_HEIGHT,
        "segments": segments,
        "last": last,
        "label": label,
    }


def _html_context(fleet: Fleet) -> dict[str, Any]:
    from ..reporters.html import GRADE_COLOURS

    rows = []
    for r in fleet.rows:
        grade = r.latest.grade if r.latest.answered and r.latest.grade else "-"
        rows.append(
            {
                "target": r.target,
                "answered": r.latest.answered,
                "error": r.latest.error,
                "grade": grade,
                "colour": GRADE_COLOURS.get(grade, "#57606a"),
                "score": "-" if r.latest.score is None or not r.latest.answered else r.latest.score,
                "counts": _counts(r.latest.active_findings),
                "scanned": r.latest.scanned_at.strftime("%Y-%m-%d %H:%M"),
                "spark": sparkline(r.series),
            }
        )
    return {
        "generated": fleet.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "scans": fleet.scans,
        "rows": rows,
        "grades": [
            {"grade": g, "count": n, "colour": GRADE_COLOURS.get(g, "#57606a")}
            for g, n in fleet.grade_counts()
        ],
        "severities": [s.value for s in reversed(Severity)],
        "expiring": [
            {
                "target": c.target,
                "subject": c.certificate.subject,
                "issuer": c.certificate.issuer,
                "not_after": c.certificate.not_after.strftime("%Y-%m-%d"),
                "days": int(c.days_left // 1),
                "level": "bad" if c.days_left < 7 else "warn" if c.days_left < 30 else "",
            }
            for c in fleet.expiring
        ],
        "regressions": [
            {
                "target": r.target,
                "at": r.at.strftime("%Y-%m-%d %H:%M"),
                "severity": r.finding.severity.value if r.finding is not None else "",
                "what": (
                    f"{r.finding.rule_id} {_title(r.finding.rule_id)}"
                    if r.finding is not None
                    else f"grade {r.previous_grade} → {r.grade}"
                ),
                "message": r.finding.message if r.finding is not None else "",
            }
            for r in fleet.regressions
        ],
    }


def render_fleet(fleet: Fleet, fmt: str) -> str:
    """The overview in ``fmt`` (``html`` or ``json``)."""
    if fmt == "json":
        return json_inert(json.dumps(fleet_dict(fleet), indent=2, ensure_ascii=False)) + "\n"
    if fmt != "html":
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    from ..reporters._htmlpage import csp, environment, stylesheet

    css = stylesheet("report.css", "fleet.css")
    template = environment().get_template("fleet.html.j2")
    return template.render(css=css, csp=csp(css), **_html_context(fleet))
