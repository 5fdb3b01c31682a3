"""The embedded default store: one SQLite file, stdlib only.

Each operation opens its own short-lived connection, so the store is safe to share between the
threads of a WSGI server without a pool, and a file written by one process is seen by the next.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from ._store import KeyRecord, KeyStore, from_epoch, join_scopes, split_scopes, to_epoch

TABLE = "keywire_keys"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keywire_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    digest TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER,
    revoked_reason TEXT,
    replaced_by TEXT
)
"""
_SELECT = (
    "SELECT id, name, prefix, digest, scopes, created_at, expires_at, last_used_at, "
    "revoked_at, revoked_reason, replaced_by FROM keywire_keys"
)
_INSERT = (
    "INSERT INTO keywire_keys (id, name, prefix, digest, scopes, created_at, expires_at, "
    "last_used_at, revoked_at, revoked_reason, replaced_by) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def row_to_record(row: tuple[object, ...]) -> KeyRecord:
    (
        key_id,
        name,
        prefix,
        digest,
        scopes,
        created_at,
        expires_at,
        last_used_at,
        revoked_at,
        revoked_reason,
        replaced_by,
    ) = row
    created = from_epoch(created_at)  # type: ignore[arg-type]
    assert created is not None
    return KeyRecord(
        id=str(key_id),
        name=str(name),
        prefix=str(prefix),
        digest=str(digest),
        scopes=split_scopes(str(scopes)),
        created_at=created,
        expires_at=from_epoch(expires_at),  # type: ignore[arg-type]
        last_used_at=from_epoch(last_used_at),  # type: ignore[arg-type]
        revoked_at=from_epoch(revoked_at),  # type: ignore[arg-type]
        revoked_reason=None if revoked_reason is None else str(revoked_reason),
        replaced_by=None if replaced_by is None else str(replaced_by),
    )


class SQLiteKeyStore(KeyStore):
    """Keys in a SQLite file (created with its table on first use).

    >>> store = SQLiteKeyStore("instance/keywire.sqlite3")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLiteKeyStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    with closing(sqlite3.connect(self.path, timeout=self._timeout)) as conn:
                        conn.execute(_SCHEMA)
                        conn.commit()
                    self._ready = True
        with closing(sqlite3.connect(self.path, timeout=self._timeout)) as conn, conn:
            yield conn

    def get(self, key_id: str) -> KeyRecord | None:
        with self._connect() as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (key_id,)).fetchone()
        return None if row is None else row_to_record(row)

    def list_keys(self) -> list[KeyRecord]:
        with self._connect() as conn:
            rows = conn.execute(_SELECT + " ORDER BY created_at, id").fetchall()
        return [row_to_record(row) for row in rows]

    def add(self, record: KeyRecord) -> None:
        try:
            with self._connect() as conn:
                conn.execute(
                    _INSERT,
                    (
                        record.id,
                        record.name,
                        record.prefix,
                        record.digest,
                        join_scopes(record.scopes),
                        to_epoch(record.created_at),
                        to_epoch(record.expires_at),
                        to_epoch(record.last_used_at),
                        to_epoch(record.revoked_at),
                        record.revoked_reason,
                        record.replaced_by,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"key id {record.id} exists already") from exc

    def revoke(self, key_id: str, *, at: datetime, reason: str) -> bool:
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE keywire_keys SET revoked_at = ?, revoked_reason = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (to_epoch(at), reason, key_id),
            )
            return cursor.rowcount == 1

    def retire(self, key_id: str, *, expires_at: datetime, replaced_by: str) -> None:
        epoch = to_epoch(expires_at)
        with self._connect() as conn:
            conn.execute(
                "UPDATE keywire_keys SET replaced_by = ?, "
                "expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? "
                "ELSE expires_at END WHERE id = ?",
                (replaced_by, epoch, epoch, key_id),
            )

    def touch(self, key_id: str, *, at: datetime, resolution_s: int = 60) -> None:
        epoch = to_epoch(at)
        assert epoch is not None
        with self._connect() as conn:
            conn.execute(
                "UPDATE keywire_keys SET last_used_at = ? "
                "WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                (epoch, key_id, epoch - resolution_s),
            )

    def set_digest(self, key_id: str, digest: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE keywire_keys SET digest = ? WHERE id = ?", (digest, key_id))
