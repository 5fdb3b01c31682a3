"""Targets, scans and results: recording a scan's results and reading them back as snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._models import Confidence, Severity
from ..history.snapshot import CertFact, FindingFact, Snapshot, format_time, parse_time
from ._rows import (
    CONFIDENCES,
    SEVERITIES,
    Queries,
    ScanRow,
    TargetRow,
    evidence_json,
    evidence_of,
    stored_time,
)

_SCANS = (
    "SELECT s.id, s.started_at, s.finished_at, s.tool_version, s.source, "
    "(SELECT COUNT(*) FROM results r WHERE r.scan_id = s.id) FROM scans s "
)


class ResultQueries(Queries):
    """Scans, targets and their results (see :class:`keywire.store.Transaction`)."""

    def begin_scan(
        self,
        *,
        started_at: datetime,
        tool_version: str,
        source: str,
        options: Mapping[str, object] | None = None,
    ) -> int:
        cursor = self._db.execute(
            "INSERT INTO scans (started_at, tool_version, source, options) VALUES (?, ?, ?, ?)",
            (
                format_time(started_at),
                tool_version,
                source,
                json.dumps(dict(options or {}), sort_keys=True, default=str),
            ),
        )
        return int(cursor.lastrowid or 0)

    def finish_scan(self, scan_id: int, *, finished_at: datetime) -> None:
        self._db.execute(
            "UPDATE scans SET finished_at = ? WHERE id = ?",
            (format_time(finished_at), scan_id),
        )

    def scan(self, scan_id: int) -> ScanRow | None:
        rows = self._scan_rows("WHERE s.id = ?", (scan_id,))
        return rows[0] if rows else None

    def scans(self, *, limit: int = 50, source: str | None = None) -> list[ScanRow]:
        """The newest scans first."""
        where, args = ("WHERE s.source = ?", (source,)) if source else ("", ())
        return self._scan_rows(f"{where} ORDER BY s.id DESC LIMIT ?", (*args, limit))

    def _scan_rows(self, tail: str, args: Sequence[object]) -> list[ScanRow]:
        query = _SCANS + tail  # the tails are this module's; values are always bound
        rows = []
        for row in self._db.execute(query, tuple(args)):
            rows.append(
                ScanRow(
                    id=int(row[0]),
                    started_at=stored_time(row[1]),
                    finished_at=parse_time(row[2]) if row[2] else None,
                    tool_version=str(row[3]),
                    source=str(row[4]),
                    targets=int(row[5]),
                )
            )
        return rows

    def scan_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM scans").fetchone()[0])

    def targets(self) -> list[TargetRow]:
        query = (
            "SELECT t.url, t.first_seen, COUNT(r.id) FROM targets t "
            "LEFT JOIN results r ON r.target_id = t.id GROUP BY t.id ORDER BY t.url"
        )
        return [
            TargetRow(url=str(url), first_seen=stored_time(first), results=int(count))
            for url, first, count in self._db.execute(query)
        ]

    def scanned_in(self, scan_id: int) -> set[str]:
        """The targets already recorded in scan ``scan_id``."""
        query = (
            "SELECT t.url FROM results r JOIN targets t ON t.id = r.target_id WHERE r.scan_id = ?"
        )
        return {str(url) for (url,) in self._db.execute(query, (scan_id,))}

    # -- results ----------------------------------------------------------------------------

    def record(self, scan_id: int, snapshot: Snapshot) -> Snapshot:
        """Record one target's result in scan ``scan_id``; the snapshot with its store IDs.

        A target already recorded in that scan is replaced (a watch cycle resumed after a crash
        scans it again).
        """
        target_id = self._target_id(snapshot.target, now=snapshot.scanned_at, create=True)
        old = self._db.execute(
            "SELECT id FROM results WHERE scan_id = ? AND target_id = ?", (scan_id, target_id)
        ).fetchone()
        if old is not None:
            self._delete_result(int(old[0]))
        cursor = self._db.execute(
            "INSERT INTO results (scan_id, target_id, scanned_at, answered, error, score, grade) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                scan_id,
                target_id,
                format_time(snapshot.scanned_at),
                int(snapshot.answered),
                snapshot.error[:2000],
                snapshot.score,
                snapshot.grade,
            ),
        )
        result_id = int(cursor.lastrowid or 0)
        self._db.executemany(
            "INSERT OR REPLACE INTO findings (result_id, fingerprint, rule_id, severity, "
            "confidence, message, location, evidence, suppressed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    result_id,
                    f.fingerprint,
                    f.rule_id,
                    f.severity.value,
                    f.confidence.value,
                    f.message[:4000],
                    f.location[:2000],
                    evidence_json(f.evidence),
                    int(f.suppressed),
                )
                for f in snapshot.findings
            ],
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO checks (result_id, name, status) VALUES (?, ?, ?)",
            [(result_id, name, status) for name, status in snapshot.checks.items()],
        )
        self._db.executemany(
            "INSERT OR REPLACE INTO certificates (result_id, chain, position, sha256, subject, "
            "issuer, serial, not_before, not_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    result_id,
                    c.chain,
                    c.position,
                    c.sha256,
                    c.subject[:2000],
                    c.issuer[:2000],
                    c.serial[:200],
                    format_time(c.not_before),
                    format_time(c.not_after),
                )
                for c in snapshot.certificates
            ],
        )
        return Snapshot(
            target=snapshot.target,
            scanned_at=snapshot.scanned_at,
            answered=snapshot.answered,
            error=snapshot.error,
            score=snapshot.score,
            grade=snapshot.grade,
            findings=snapshot.findings,
            checks=snapshot.checks,
            certificates=snapshot.certificates,
            scan_id=scan_id,
            result_id=result_id,
        )

    def _delete_result(self, result_id: int) -> None:
        for table in ("findings", "checks", "certificates"):
            self._db.execute(f"DELETE FROM {table} WHERE result_id = ?", (result_id,))  # noqa: S608
        self._db.execute("UPDATE alerts SET result_id = NULL WHERE result_id = ?", (result_id,))
        self._db.execute("DELETE FROM results WHERE id = ?", (result_id,))

    def history(
        self, target: str, *, limit: int = 50, before: int | None = None, evidence: bool = True
    ) -> list[Snapshot]:
        """The target's results, newest first (only those older than result ``before``).
        ``evidence=False`` leaves the findings' evidence out (faster, for comparisons)."""
        condition = "t.url = ?" + (" AND r.id < ?" if before is not None else "")
        args: tuple[object, ...] = (target, before) if before is not None else (target,)
        return self._snapshots(
            f"WHERE {condition} ORDER BY r.id DESC LIMIT ?", (*args, limit), evidence=evidence
        )

    def latest(
        self, target: str, *, before: int | None = None, evidence: bool = True
    ) -> Snapshot | None:
        """The target's newest result (older than result ``before``), or None."""
        found = self.history(target, limit=1, before=before, evidence=evidence)
        return found[0] if found else None

    def newest(self, *, per_target: int = 2, evidence: bool = True) -> dict[str, list[Snapshot]]:
        """Every target's ``per_target`` newest results (newest first), by URL, in a few queries."""
        tail = (
            "JOIN (SELECT id AS newest_id, ROW_NUMBER() OVER (PARTITION BY target_id ORDER BY id "
            "DESC) AS n FROM results) ranked ON ranked.newest_id = r.id WHERE ranked.n <= ? "
            "ORDER BY t.url, r.id DESC"
        )
        grouped: dict[str, list[Snapshot]] = {}
        for snapshot in self._snapshots(tail, (per_target,), evidence=evidence):
            grouped.setdefault(snapshot.target, []).append(snapshot)
        return grouped

    def score_series_all(self, *, limit: int = 30) -> dict[str, list[tuple[datetime, int | None]]]:
        """Every target's :meth:`score_series`, by URL."""
        query = (
            "SELECT url, scanned_at, score FROM (SELECT t.url, r.id, r.scanned_at, r.score, "
            "ROW_NUMBER() OVER (PARTITION BY r.target_id ORDER BY r.id DESC) AS n FROM results r "
            "JOIN targets t ON t.id = r.target_id) WHERE n <= ? ORDER BY url, id"
        )
        series: dict[str, list[tuple[datetime, int | None]]] = {}
        for url, at, score in self._db.execute(query, (limit,)):
            series.setdefault(str(url), []).append(
                (stored_time(at), None if score is None else int(score))
            )
        return series

    def results_of_scan(self, scan_id: int, *, evidence: bool = True) -> list[Snapshot]:
        return self._snapshots("WHERE r.scan_id = ? ORDER BY t.url", (scan_id,), evidence=evidence)

    def latest_results(self) -> list[Snapshot]:
        """Every target's newest result, by URL."""
        return self._snapshots(
            "WHERE r.id = (SELECT MAX(id) FROM results WHERE target_id = r.target_id) ORDER BY t.url",
            (),
        )

    def score_series(self, target: str, *, limit: int = 30) -> list[tuple[datetime, int | None]]:
        """(time, score) of the target's newest ``limit`` results, oldest first."""
        query = (
            "SELECT r.scanned_at, r.score FROM results r JOIN targets t ON t.id = r.target_id "
            "WHERE t.url = ? ORDER BY r.id DESC LIMIT ?"
        )
        rows = self._db.execute(query, (target, limit)).fetchall()
        return [(stored_time(at), None if score is None else int(score)) for at, score in rows][
            ::-1
        ]

    def _snapshots(
        self, tail: str, args: Sequence[object], *, evidence: bool = True
    ) -> list[Snapshot]:
        query = (
            "SELECT r.id, r.scan_id, t.url, r.scanned_at, r.answered, r.error, r.score, r.grade "
            "FROM results r JOIN targets t ON t.id = r.target_id " + tail
        )
        rows = self._db.execute(query, tuple(args)).fetchall()
        ids = [int(row[0]) for row in rows]
        findings = self._findings(ids, evidence=evidence)
        checks = self._checks(ids)
        certificates = self._certificates(ids)
        return [
            Snapshot(
                target=str(url),
                scanned_at=stored_time(at),
                answered=bool(answered),
                error=str(error),
                score=None if score is None else int(score),
                grade=None if grade is None else str(grade),
                findings=tuple(findings.get(int(result_id), ())),
                checks=checks.get(int(result_id), {}),
                certificates=tuple(certificates.get(int(result_id), ())),
                scan_id=int(scan_id),
                result_id=int(result_id),
            )
            for result_id, scan_id, url, at, answered, error, score, grade in rows
        ]

    def _children(self, columns: str, table: str, ids: Sequence[int], order: str) -> Iterator[Any]:
        """Rows of ``table`` for the results ``ids``, ``result_id`` first, in chunks of 500."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT result_id, {columns} FROM {table} WHERE result_id IN ({marks}) ORDER BY result_id, {order}"  # noqa: S608 (our names; values bound)
            yield from self._db.execute(query, chunk)

    def _findings(self, ids: Sequence[int], *, evidence: bool) -> dict[int, list[FindingFact]]:
        columns = "fingerprint, rule_id, severity, confidence, message, location, suppressed, " + (
            "evidence" if evidence else "''"
        )
        found: dict[int, list[FindingFact]] = {}
        for row in self._children(columns, "findings", ids, "fingerprint"):
            result_id, fingerprint, rule_id, severity, confidence, message, location = row[:7]
            suppressed, text = row[7], row[8]
            found.setdefault(int(result_id), []).append(
                FindingFact(
                    fingerprint=str(fingerprint),
                    rule_id=str(rule_id),
                    severity=SEVERITIES.get(severity, Severity.INFO),
                    confidence=CONFIDENCES.get(confidence, Confidence.HIGH),
                    message=str(message),
                    location=str(location),
                    evidence=evidence_of(text) if text else (),
                    suppressed=bool(suppressed),
                )
            )
        for facts in found.values():
            facts.sort(key=lambda f: (-f.severity.rank, f.rule_id, f.location))
        return found

    def _checks(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        checks: dict[int, dict[str, str]] = {}
        for result_id, name, status in self._children("name, status", "checks", ids, "name"):
            checks.setdefault(int(result_id), {})[str(name)] = str(status)
        return checks

    def _certificates(self, ids: Sequence[int]) -> dict[int, list[CertFact]]:
        columns = "chain, position, sha256, subject, issuer, serial, not_before, not_after"
        certs: dict[int, list[CertFact]] = {}
        for row in self._children(columns, "certificates", ids, "chain, position"):
            result_id, chain, position, sha256, subject, issuer, serial, start, end = row
            certs.setdefault(int(result_id), []).append(
                CertFact(
                    chain=int(chain),
                    position=int(position),
                    sha256=str(sha256),
                    subject=str(subject),
                    issuer=str(issuer),
                    serial=str(serial),
                    not_before=stored_time(start),
                    not_after=stored_time(end),
                )
            )
        return certs
