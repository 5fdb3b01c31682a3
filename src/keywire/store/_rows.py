"""What the store's queries return, and how values are kept in it (times, evidence)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from .. import _json
from .._dataclass import dataclass
from .._models import Confidence, Severity
from ..history.snapshot import format_time, parse_time

#: Evidence of one finding is cut to this many characters of JSON in the store.
MAX_EVIDENCE_CHARS = 16 * 1024


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
    """A target in the history store: when it was first seen and how many results it has."""

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


class Queries:
    """The base of the store's query groups: one connection, inside a transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

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


def stored_time(text: object) -> datetime:
    moment = parse_time(str(text))
    if moment is None:
        raise sqlite3.DatabaseError(f"malformed time {str(text)[:40]!r} in the store")
    return moment


SEVERITIES = {s.value: s for s in Severity}
CONFIDENCES = {c.value: c for c in Confidence}


def evidence_json(evidence: Sequence[tuple[str, str]]) -> str:
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


def evidence_of(text: object) -> tuple[tuple[str, str], ...]:
    try:
        items = _json.loads(str(text))
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    return tuple(
        (str(item[0]), str(item[1])) for item in items if isinstance(item, list) and len(item) == 2
    )
