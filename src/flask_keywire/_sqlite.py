"""The embedded default store: one SQLite file, stdlib only.

Connections are kept in a small pool and reused (opening one costs more than the whole lookup),
handed to one thread at a time, and never carried across ``fork()`` (a gunicorn worker opens its
own). No transaction stays open between operations, so every lookup sees what any process
committed last. The file uses SQLite's write-ahead log, so lookups go on while another connection
writes or holds the write lock (a backup, a migration); writes wait for it, up to ``timeout``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
_SELECT_ONE = _SELECT + " WHERE id = ?"
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


_POOL_SIZE = 8
_IN_CHUNK = 500  # ids per "IN (...)" query, under SQLite's default limit of host parameters


class SQLiteKeyStore(KeyStore):
    """Keys in a SQLite file (created with its table on first use).

    ``timeout`` is how long an operation waits for a lock another connection holds;
    ``touch_timeout`` is the same for last-use writes, which are bookkeeping: while the file is
    held (a backup, a migration), requests should not wait long for them.

    >>> store = SQLiteKeyStore("instance/keywire.sqlite3")  # doctest: +SKIP
    """

    def __init__(
        self, path: str | Path, *, timeout: float = 5.0, touch_timeout: float = 0.5
    ) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._touch_timeout = touch_timeout
        self._ready = False
        self._lock = threading.Lock()
        self._pool: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        # Revocations that could not be written yet wait beside the database, where every
        # process that uses it looks (see flask_keywire._pending).
        self.pending_path = self.path.with_name(self.path.name + "-revocations")

    def __repr__(self) -> str:
        return f"SQLiteKeyStore({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False: the pool hands a connection to one thread at a time.
        return sqlite3.connect(self.path, timeout=self._timeout, check_same_thread=False)

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._open()
            try:
                # Write-ahead log: readers are not blocked by a writer or by a held write lock.
                # A database another program keeps in another mode stays as it is.
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode=WAL")
                with conn:
                    conn.execute(_SCHEMA)
            finally:
                conn.close()
            self._ready = True

    def _checkout(self) -> sqlite3.Connection:
        if not self._ready:
            self._prepare()
        with self._lock:
            if self._pid != os.getpid():
                # Forked (a gunicorn worker): the parent's connections are not ours to use or
                # close; forget them and open new ones.
                self._pool = []
                self._pid = os.getpid()
            if self._pool:
                return self._pool.pop()
        return self._open()

    def _checkin(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if len(self._pool) < _POOL_SIZE and self._pid == os.getpid():
                self._pool.append(conn)
                return
        conn.close()

    @contextmanager
    def _connect(self, *, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """A pooled connection in a transaction (committed on success, rolled back on error)."""
        conn = self._checkout()
        if wait is not None:
            conn.execute(f"PRAGMA busy_timeout = {max(0, int(wait * 1000))}")
        try:
            with conn:
                yield conn
        finally:
            if wait is not None:
                conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            self._checkin(conn)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, []
            mine = self._pid == os.getpid()
        if mine:
            for conn in pool:
                conn.close()

    def __del__(self) -> None:
        # Pooled connections are closed explicitly, not left to the garbage collector.
        with contextlib.suppress(Exception):
            self.close()

    def get(self, key_id: str) -> KeyRecord | None:
        # The hot path of every authenticated request: one pooled connection, one indexed
        # SELECT, no transaction (a lone SELECT in autocommit sees the latest commit).
        conn = self._checkout()
        try:
            row = conn.execute(_SELECT_ONE, (key_id,)).fetchone()
        finally:
            self._checkin(conn)
        return None if row is None else row_to_record(row)

    def get_many(self, key_ids: Iterable[str]) -> dict[str, KeyRecord]:
        ids = list(dict.fromkeys(key_ids))
        found: dict[str, KeyRecord] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(_SELECT + f" WHERE id IN ({marks})", chunk):
                    record = row_to_record(row)
                    found[record.id] = record
        return found

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
        return self.revoke_within(key_id, at=at, reason=reason, wait=self._timeout)

    def revoke_within(self, key_id: str, *, at: datetime, reason: str, wait: float) -> bool:
        with self._connect(wait=wait) as conn:
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
        with self._connect(wait=self._touch_timeout) as conn:
            conn.execute(
                "UPDATE keywire_keys SET last_used_at = ? "
                "WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                (epoch, key_id, epoch - resolution_s),
            )

    def set_digest(self, key_id: str, digest: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE keywire_keys SET digest = ? WHERE id = ?", (digest, key_id))
