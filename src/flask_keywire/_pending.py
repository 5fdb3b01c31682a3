"""Revocations that could not be written yet: durable, shared by every process, applied later.

A key seen over cleartext must be revoked. When the key store cannot take the write right now (the
SQLite file is held by a backup or a migration, the database is down), the revocation is not lost
and the key is not accepted meanwhile:

1. the revocation goes into a small journal beside the store: its own SQLite file
   (``<store file>-revocations``, or ``keywire-pending-revocations.sqlite3`` in the instance
   folder), so the lock on the store does not hold it up and every process on the machine sees it;
2. before a key is accepted, its record is checked against the journal (fail closed): a key with a
   pending revocation is refused exactly like a revoked one;
3. a background thread retries with backoff until the store takes the revocation, then removes
   the entry.

An entry holds the key's id and digests (HMAC-SHA256 with each pepper, as the store keeps them),
never the key. If the store could not even be read, the key could not be verified: the entry is
kept unverified, and it blocks only the key with exactly that digest, so a forged key with a real
id cannot lock its owner out. With a read-only store (``KEYWIRE_API_KEY_HASH``) the journal is the
lasting record of burned keys, for every worker, until the key's line is removed.

Noticing a change costs one ``stat`` and a 4-byte read per request: SQLite's file change counter
(offset 24 of the header, incremented by every committed write in the default rollback-journal
mode this file uses).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ._logging import audit
from ._store import KeyStore, from_epoch, to_epoch

log = logging.getLogger("flask_keywire")

#: Unverified entries kept at most (forged keys sent while the store is down cannot fill a disk).
MAX_UNVERIFIED = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_revocations (
    key_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    verified INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, digest)
)
"""


@dataclass(frozen=True, kw_only=True)
class Pending:
    """One pending revocation: the key's id and one digest it may have."""

    key_id: str
    digest: str
    verified: bool
    seen_at: datetime


class PendingRevocations:
    """The journal of revocations not written to the store yet (see the module docstring)."""

    def __init__(self, path: str | Path, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._digests: dict[str, frozenset[str]] = {}
        self._fd: int | None = None
        self._fd_ino = -1
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"PendingRevocations({str(self.path)!r})"

    def close(self) -> None:
        """Release the descriptor kept for change detection (only this process's own)."""
        fd, self._fd = self._fd, None
        if fd is not None and self._pid == os.getpid():
            os.close(fd)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout)
        with conn:
            conn.execute(_SCHEMA)
        return conn

    def _current_stamp(self) -> tuple[int, int, int] | None:
        """(inode, size, change counter) of the file, or None if there is no journal."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        if self._pid != os.getpid() or self._fd is None or self._fd_ino != st.st_ino:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = os.open(self.path, os.O_RDONLY)
            self._fd_ino = st.st_ino
            self._pid = os.getpid()
        header = os.pread(self._fd, 4, 24)
        return (st.st_ino, st.st_size, int.from_bytes(header, "big") if len(header) == 4 else -1)

    def _refresh(self) -> dict[str, frozenset[str]]:
        with self._lock:
            stamp = self._current_stamp()
            if stamp is None:
                self._stamp, self._digests = None, {}
            elif stamp != self._stamp:
                # The stamp is read before the rows, so the cache is never older than its stamp.
                digests: dict[str, set[str]] = {}
                with contextlib.closing(self._connect()) as conn:
                    for key_id, digest in conn.execute(
                        "SELECT key_id, digest FROM pending_revocations"
                    ):
                        digests.setdefault(str(key_id), set()).add(str(digest))
                self._digests = {k: frozenset(v) for k, v in digests.items()}
                self._stamp = stamp
            return self._digests

    def blocks(self, key_id: str, digest: str) -> bool:
        """True if the key with this id and stored digest has a pending revocation.

        Raises if the journal exists but cannot be read: the caller must then refuse the key.
        """
        digests = self._refresh().get(key_id)
        if not digests:
            return False
        found = False
        for candidate in digests:
            found |= hmac.compare_digest(candidate, digest)
        return found

    def __bool__(self) -> bool:
        return bool(self._refresh())

    def add(self, entries: Iterable[Pending]) -> None:
        """Record ``entries`` durably (raises if that is impossible)."""
        rows = [(e.key_id, e.digest, int(e.verified), to_epoch(e.seen_at)) for e in entries]
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as conn, conn:
            (unverified,) = conn.execute(
                "SELECT COUNT(*) FROM pending_revocations WHERE verified = 0"
            ).fetchone()
            if unverified + len(rows) > MAX_UNVERIFIED:
                dropped = [r for r in rows if not r[2]]
                rows = [r for r in rows if r[2]]
                if dropped:
                    log.critical(
                        "%d unchecked keys seen over cleartext were not recorded: %d are waiting "
                        "already (the key store has been unavailable for a while)",
                        len(dropped),
                        unverified,
                    )
            conn.executemany(
                "INSERT OR IGNORE INTO pending_revocations (key_id, digest, verified, seen_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    def entries(self) -> list[Pending]:
        if not self.path.exists():
            return []
        with contextlib.closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT key_id, digest, verified, seen_at FROM pending_revocations "
                "ORDER BY seen_at, key_id"
            ).fetchall()
        return [
            Pending(key_id=str(k), digest=str(d), verified=bool(v), seen_at=_when(s))
            for k, d, v, s in rows
        ]

    def remove(self, key_id: str, digests: Sequence[str]) -> None:
        with contextlib.closing(self._connect()) as conn, conn:
            conn.executemany(
                "DELETE FROM pending_revocations WHERE key_id = ? AND digest = ?",
                [(key_id, d) for d in digests],
            )


def _when(epoch: object) -> datetime:
    when = from_epoch(int(epoch))  # type: ignore[call-overload]
    assert when is not None
    return when


def apply_pending(store: KeyStore, pending: PendingRevocations) -> int:
    """Write the journal's revocations to ``store``; return how many entries remain.

    An entry whose digest matches the stored key is revoked (with the time the key was seen) and
    removed; one that matches nothing (an unknown id, a forged secret) is removed. With a
    read-only store, matching entries stay: they are the record of burned keys. Raises when the
    store cannot be read or written: call again later.
    """
    entries = pending.entries()
    if not entries:
        return 0
    by_id: dict[str, list[Pending]] = {}
    for entry in entries:
        by_id.setdefault(entry.key_id, []).append(entry)
    records = store.get_many(by_id)
    remaining = 0
    for key_id, group in by_id.items():
        record = records.get(key_id)
        digests = [e.digest for e in group]
        matched = record is not None and any(hmac.compare_digest(d, record.digest) for d in digests)
        if record is not None and matched and record.revoked_at is None:
            if store.read_only:
                remaining += len(group)
                continue
            seen = min(e.seen_at for e in group)
            if store.revoke(key_id, at=seen, reason="cleartext"):
                audit("key.revoked", key_id=key_id, reason="cleartext", delayed="yes")
        pending.remove(key_id, digests)
    return remaining


class Reconciler:
    """A daemon thread per process that applies the journal with backoff until it is empty."""

    def __init__(self, *, first_delay: float = 0.05, max_delay: float = 2.0) -> None:
        self._first = first_delay
        self._max = max_delay
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def ensure_running(self, store: KeyStore, pending: PendingRevocations) -> None:
        if store.read_only:
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run,
                args=(store, pending),
                name="flask_keywire-revocations",
                daemon=True,
            )
            self._thread.start()

    def _run(self, store: KeyStore, pending: PendingRevocations) -> None:
        delay = self._first
        failures = 0
        while True:
            if not pending.path.exists():
                return
            try:
                if apply_pending(store, pending) == 0:
                    return
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log.warning(
                        "revocations are still waiting for the key store (%s: %s); retrying",
                        type(exc).__name__,
                        exc,
                    )
            time.sleep(delay)
            delay = min(delay * 2, self._max)

    def join(self, timeout: float) -> None:
        """Wait for the thread to finish (tests and ``flask keywire`` commands)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


def journal_path(store: KeyStore, instance_path: str, configured: object) -> Path:
    """Where the journal lives: configured, beside the store, or in the instance folder."""
    if configured:
        return Path(str(configured))
    if store.pending_path is not None:
        return Path(store.pending_path)
    return Path(instance_path) / "keywire-pending-revocations.sqlite3"
