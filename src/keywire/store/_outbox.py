"""The alerts: each target's alert state, and the outbox of alerts waiting for a webhook."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import _json
from ..history.snapshot import format_time, parse_time
from ._rows import OutboxAlert, Queries, stored_time

_ALERTS = (
    "SELECT a.id, a.created_at, a.type, COALESCE(t.url, ''), a.payload, a.attempts, "
    "a.next_attempt_at, a.delivered_at, a.last_error FROM alerts a "
    "LEFT JOIN targets t ON t.id = a.target_id "
)


class OutboxQueries(Queries):
    """Alert state and the outbox (see :class:`keywire.store.Transaction`)."""

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
                created_at=stored_time(row[1]),
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
