"""The SQLite store: opening it safely, and the transactions that read and write it.

Opening never damages a file: a path that is not a SQLite database, another program's database, a
store written by a newer keywire or a corrupt one is refused with :class:`StoreError` before
anything is written (SQLite reads the header and ``application_id`` first; a store opened for
writing passes SQLite's ``quick_check``). The file is only ever opened through SQLite: a plain
``open()`` and ``close()`` of it would drop the locks of the process's other connections. Several processes may write one store at once (a
``keywire scan`` beside a ``keywire watch``): it is in write-ahead-log mode, waits up to
:data:`BUSY_TIMEOUT_S` for a lock, and every write is one short ``BEGIN IMMEDIATE`` transaction
(one target's result, its alerts and its alert state together).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import _json
from .._models import Confidence, Severity
from ..history.snapshot import CertFact, FindingFact, Snapshot, format_time, parse_time
from ._schema import APPLICATION_ID, MIGRATIONS

#: Window functions (3.25) read every target's newest results in one query.
MIN_SQLITE = (3, 25, 0)
#: How long a writer waits for another one to finish before giving up.
BUSY_TIMEOUT_S = 30.0
#: Evidence of one finding is cut to this many characters of JSON in the store.
MAX_EVIDENCE_CHARS = 16 * 1024
_SCANS = (
    "SELECT s.id, s.started_at, s.finished_at, s.tool_version, s.source, "
    "(SELECT COUNT(*) FROM results r WHERE r.scan_id = s.id) FROM scans s "
)
_ALERTS = (
    "SELECT a.id, a.created_at, a.type, COALESCE(t.url, ''), a.payload, a.attempts, "
    "a.next_attempt_at, a.delivered_at, a.last_error FROM alerts a "
    "LEFT JOIN targets t ON t.id = a.target_id "
)


class StoreError(Exception):
    """The store cannot be used: missing, corrupt, newer, not a keywire store, busy, unwritable.

    The message names the file and says what to do; it is safe to print.
    """


@dataclass(frozen=True, kw_only=True)
class ScanRow:
    """One scan in the store: a ``keywire scan`` run, or one cycle of ``keywire watch``."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    tool_version: str
    source: str
    targets: int


@dataclass(frozen=True, kw_only=True)
class TargetRow:
    url: str
    first_seen: datetime
    results: int


@dataclass(frozen=True, kw_only=True)
class OutboxAlert:
    """An alert waiting in the outbox (or delivered): ``payload`` is its event as JSON."""

    id: str
    created_at: datetime
    type: str
    target: str
    payload: str
    attempts: int
    next_attempt_at: float | None
    delivered_at: datetime | None
    last_error: str


def _classify(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"the store {str(path)!r} stayed locked by another keywire for {BUSY_TIMEOUT_S:g} s; "
            "try again"
        )
    if any(word in lowered for word in ("malformed", "not a database", "corrupt")):
        return StoreError(
            f"the store {str(path)!r} is corrupt ({text}); it was left as it is: restore it from a "
            "backup, or move it away and give --store another file"
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StoreError(f"cannot write the store {str(path)!r}: {text}")
    return StoreError(f"the store {str(path)!r} cannot be used: {text}")


class Transaction:
    """Reads and writes inside one transaction (see :meth:`Store.transaction`)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    # -- targets and scans ------------------------------------------------------------------

    def _target_id(self, url: str, *, now: datetime, create: bool) -> int | None:
        row = self._db.execute("SELECT id FROM targets WHERE url = ?", (url,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            return None
        cursor = self._db.execute(
            "INSERT INTO targets (url, first_seen) VALUES (?, ?)", (url, format_time(now))
        )
        return int(cursor.lastrowid or 0)

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
            "UPDATE scans SET finished_at = ? WHERE id = ?", (format_time(finished_at), scan_id)
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
                    started_at=_time(row[1]),
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
            TargetRow(url=str(url), first_seen=_time(first), results=int(count))
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
                    _evidence_json(f.evidence),
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
                (_time(at), None if score is None else int(score))
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
        return [(_time(at), None if score is None else int(score)) for at, score in rows][::-1]

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
                scanned_at=_time(at),
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
                    severity=_SEVERITIES.get(severity, Severity.INFO),
                    confidence=_CONFIDENCES.get(confidence, Confidence.HIGH),
                    message=str(message),
                    location=str(location),
                    evidence=_evidence(text) if text else (),
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
                    not_before=_time(start),
                    not_after=_time(end),
                )
            )
        return certs

    # -- alerts -----------------------------------------------------------------------------

    def alert_state(self, target: str) -> dict[str, Any] | None:
        query = (
            "SELECT a.state FROM alert_state a JOIN targets t ON t.id = a.target_id WHERE t.url = ?"
        )
        row = self._db.execute(query, (target,)).fetchone()
        if row is None:
            return None
        try:
            state = _json.loads(row[0])
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def set_alert_state(self, target: str, state: Mapping[str, Any], *, now: datetime) -> None:
        target_id = self._target_id(target, now=now, create=True)
        self._db.execute(
            "INSERT OR REPLACE INTO alert_state (target_id, state) VALUES (?, ?)",
            (target_id, json.dumps(dict(state), sort_keys=True)),
        )

    def enqueue(
        self,
        *,
        alert_id: str,
        created_at: datetime,
        type: str,
        target: str,
        payload: str,
        deliver: bool,
        result_id: int | None = None,
    ) -> None:
        """Add an alert; with ``deliver`` it waits in the outbox until a webhook took it."""
        target_id = self._target_id(target, now=created_at, create=True)
        self._db.execute(
            "INSERT OR IGNORE INTO alerts (id, created_at, type, target_id, result_id, payload, "
            "deliver, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert_id,
                format_time(created_at),
                type,
                target_id,
                result_id,
                payload,
                int(deliver),
                created_at.timestamp() if deliver else None,
            ),
        )

    def due_alerts(self, *, now: float, limit: int = 100) -> list[OutboxAlert]:
        """Undelivered alerts whose next attempt is due, oldest first."""
        return self._alerts(
            "WHERE a.deliver = 1 AND a.delivered_at IS NULL AND a.next_attempt_at <= ? "
            "ORDER BY a.created_at, a.rowid LIMIT ?",
            (now, limit),
        )

    def next_due(self) -> float | None:
        """When the next undelivered alert is due (Unix time), or None when none waits."""
        row = self._db.execute(
            "SELECT MIN(next_attempt_at) FROM alerts WHERE deliver = 1 AND delivered_at IS NULL"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def pending(self) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM alerts WHERE deliver = 1 AND delivered_at IS NULL"
        ).fetchone()
        return int(row[0])

    def alerts(self, *, limit: int = 100, target: str | None = None) -> list[OutboxAlert]:
        """Alerts, newest first."""
        where, args = ("WHERE t.url = ? ", (target,)) if target else ("", ())
        return self._alerts(
            f"{where}ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?", (*args, limit)
        )

    def _alerts(self, tail: str, args: Sequence[object]) -> list[OutboxAlert]:
        query = _ALERTS + tail
        return [
            OutboxAlert(
                id=str(row[0]),
                created_at=_time(row[1]),
                type=str(row[2]),
                target=str(row[3]),
                payload=str(row[4]),
                attempts=int(row[5]),
                next_attempt_at=None if row[6] is None else float(row[6]),
                delivered_at=parse_time(row[7]) if row[7] else None,
                last_error=str(row[8]),
            )
            for row in self._db.execute(query, tuple(args))
        ]

    def mark_delivered(self, alert_id: str, *, at: datetime) -> None:
        self._db.execute(
            "UPDATE alerts SET delivered_at = ?, attempts = attempts + 1, last_error = '' "
            "WHERE id = ?",
            (format_time(at), alert_id),
        )

    def retry_all(self, *, now: float) -> None:
        """Make every undelivered alert due at ``now``."""
        self._db.execute(
            "UPDATE alerts SET next_attempt_at = ? WHERE deliver = 1 AND delivered_at IS NULL",
            (now,),
        )

    def mark_failed(self, alert_id: str, *, next_attempt_at: float, error: str) -> None:
        self._db.execute(
            "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE id = ?",
            (next_attempt_at, error[:500], alert_id),
        )

    # -- the watch's own state ----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _time(text: object) -> datetime:
    moment = parse_time(str(text))
    if moment is None:
        raise sqlite3.DatabaseError(f"malformed time {str(text)[:40]!r} in the store")
    return moment


_SEVERITIES = {s.value: s for s in Severity}
_CONFIDENCES = {c.value: c for c in Confidence}


def _evidence_json(evidence: Sequence[tuple[str, str]]) -> str:
    text = json.dumps([[str(k), str(v)] for k, v in evidence], ensure_ascii=False)
    if len(text) <= MAX_EVIDENCE_CHARS:
        return text
    kept: list[list[str]] = []
    for key, value in evidence:
        kept.append([str(key)[:200], str(value)[:1000]])
        if len(json.dumps(kept, ensure_ascii=False)) > MAX_EVIDENCE_CHARS:
            kept.pop()
            break
    return json.dumps(kept, ensure_ascii=False)


def _evidence(text: object) -> tuple[tuple[str, str], ...]:
    try:
        items = _json.loads(str(text))
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(
        (str(item[0]), str(item[1])) for item in items if isinstance(item, list) and len(item) == 2
    )


class Store:
    """A keywire store (a SQLite file). Open with :meth:`open`; one per thread.

    >>> with Store.open("keywire.db") as store:  # doctest: +SKIP
    ...     with store.transaction() as tx:
    ...         [s.grade for s in tx.history("https://api.example/")]
    ['A', 'A', 'B']
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        migrations: Sequence[str] = MIGRATIONS,
        check: bool = True,
    ) -> Store:
        """Open the store at ``path``, creating it (and its directory) when ``create``.

        ``check`` runs SQLite's ``quick_check`` (reads every page; a corrupt store is refused
        before anything is written to it). Raises :class:`StoreError`.
        """
        path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"the history store needs SQLite {'.'.join(map(str, MIN_SQLITE))} or later "
                f"(window functions); this Python has {sqlite3.sqlite_version}"
            )
        exists = _inspect_file(path, create=create)
        if not exists:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store's directory {str(path.parent)!r}: "
                    f"{exc.strerror or exc}"
                ) from None
        try:
            connection = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True
            )
        except sqlite3.Error as exc:
            raise _classify(exc, path) from None
        store = cls(path, connection)
        try:
            store._prepare(migrations, check=check and exists)
        except sqlite3.Error as exc:
            connection.close()
            if "not a database" in str(exc).lower():
                raise StoreError(
                    f"{str(path)!r} is not a keywire store (not a SQLite database: corrupt, or "
                    "another file); it was left as it is: give --store another file"
                ) from None
            raise _classify(exc, path) from None
        except StoreError:
            connection.close()
            raise
        return store

    def _prepare(self, migrations: Sequence[str], *, check: bool) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        application_id, version = self._identity()
        newest = len(migrations)
        if application_id != APPLICATION_ID:
            tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
            if application_id != 0 or version != 0 or tables:
                raise StoreError(
                    f"{str(self.path)!r} is a SQLite database but not a keywire store; "
                    "it was left as it is: give --store another file"
                )
        if version > newest:
            raise StoreError(
                f"the store {str(self.path)!r} was written by a newer keywire (schema version "
                f"{version}; this keywire knows up to {newest}); it was left as it is: upgrade "
                "keywire, or give --store another file"
            )
        if check:
            verdict = db.execute("PRAGMA quick_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                detail = "" if verdict is None else str(verdict[0])[:200]
                raise StoreError(
                    f"the store {str(self.path)!r} is corrupt ({detail or 'quick_check failed'}); "
                    "it was left as it is: restore it from a backup, or move it away and give "
                    "--store another file"
                )
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise StoreError(
                f"the store {str(self.path)!r} cannot use write-ahead logging (its file system "
                "may not support it); give --store a file on a local disk"
            )
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        if version < newest:
            self._migrate(migrations)

    def _identity(self) -> tuple[int, int]:
        application_id = int(self._db.execute("PRAGMA application_id").fetchone()[0])
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        return application_id, version

    def _migrate(self, migrations: Sequence[str]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            _, version = self._identity()  # another process may have migrated meanwhile
            if version > len(migrations):
                raise StoreError(
                    f"the store {str(self.path)!r} was written by a newer keywire; it was left "
                    "as it is"
                )
            for number in range(version + 1, len(migrations) + 1):
                for statement in _statements(migrations[number - 1]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return self._identity()[1]

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Transaction]:
        """One transaction: ``write`` takes the write lock at once (``BEGIN IMMEDIATE``), so a
        read-then-write never fails half-way on another writer; reads see one consistent state.
        Errors become :class:`StoreError`."""
        try:
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise _classify(exc, self.path) from None
        try:
            yield Transaction(self._db)
        except sqlite3.Error as exc:
            self._rollback()
            raise _classify(exc, self.path) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise _classify(exc, self.path) from None

    def _rollback(self) -> None:
        # The transaction may already be gone (SQLite rolls back itself on some errors).
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _inspect_file(path: Path, *, create: bool) -> bool:
    """Whether a store file exists at ``path``; refuses a directory or a special file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if not create:
            raise StoreError(
                f"there is no store at {str(path)!r}: `keywire scan` and `keywire watch` record "
                "into it (see --store)"
            ) from None
        return False
    except OSError as exc:
        raise StoreError(f"cannot use the store {str(path)!r}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(f"the store {str(path)!r} is a directory; give --store a file")
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"the store {str(path)!r} is not a regular file")
    # The header is left to SQLite: opening and closing the file here would drop the POSIX locks
    # of every connection this process already has to it, and another process would then delete
    # the write-ahead log under them (SQLite's "multiple file descriptors" hazard).
    return True
