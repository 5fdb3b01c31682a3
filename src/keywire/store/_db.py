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
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ._outbox import OutboxQueries
from ._results import ResultQueries
from ._schema import APPLICATION_ID, MIGRATIONS

#: Window functions (3.25) read every target's newest results in one query.
MIN_SQLITE = (3, 25, 0)
#: How long a writer waits for another one to finish before giving up.
BUSY_TIMEOUT_S = 30.0
#: ``quick_check`` reads every page (about 1.5 ms per MiB): a store up to this size is checked
#: each time it is opened for writing, a bigger one (months of fleet history) at most once per
#: :data:`CHECK_INTERVAL_S`, so a scan's start-up does not grow with the history behind it.
CHECK_ALWAYS_BYTES = 8 << 20
CHECK_INTERVAL_S = 24 * 3600.0


class StoreError(Exception):
    """The store cannot be used: missing, corrupt, newer, not a keywire store, busy, unwritable.

    The message names the file and says what to do; it is safe to print.
    """


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


class Transaction(ResultQueries, OutboxQueries):
    """Reads and writes inside one transaction (see :meth:`Store.transaction`): results
    (:class:`~keywire.store._results.ResultQueries`) and alerts
    (:class:`~keywire.store._outbox.OutboxQueries`)."""


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
        before anything is written to it) when it is due (see :data:`CHECK_ALWAYS_BYTES`).
        Raises :class:`StoreError`.
        """
        path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"the history store needs SQLite {'.'.join(map(str, MIN_SQLITE))} or later "
                f"(window functions); this Python has {sqlite3.sqlite_version}"
            )
        exists = _inspect_file(path, create=create)
        if not exists:
            _create_private(path)
        try:
            connection = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True
            )
        except sqlite3.Error as exc:
            raise _classify(exc, path) from None
        store = cls(path, connection)
        try:
            store._prepare(migrations, check=check and exists and _check_due(path))
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
            _stamp_checked(self.path)
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


def _check_stamp(path: Path) -> Path:
    """The file whose time says when a big store last passed ``quick_check``."""
    return path.with_name(path.name + "-checked")


def _check_due(path: Path) -> bool:
    """Whether the store at ``path`` should pass ``quick_check`` now."""
    try:
        if path.stat().st_size <= CHECK_ALWAYS_BYTES:
            return True
        checked = _check_stamp(path).stat().st_mtime
    except OSError:
        return True
    return not 0 <= time.time() - checked < CHECK_INTERVAL_S


def _stamp_checked(path: Path) -> None:
    """Note that a big store passed ``quick_check`` (a store that cannot be noted is checked
    again next time)."""
    with contextlib.suppress(OSError):
        if path.stat().st_size > CHECK_ALWAYS_BYTES:
            stamp = _check_stamp(path)
            os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT, 0o600))
            os.utime(stamp)


def _create_private(path: Path) -> None:
    """Create the store's directory (0700) and an empty store file (0600): it lists every API's
    weaknesses. SQLite gives the write-ahead log the file's permissions. (No connection to the
    file exists yet, so opening it here drops no lock.)"""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store's directory {str(path.parent)!r}: {exc.strerror or exc}"
        ) from None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process created it meanwhile: SQLite takes it from here
    except OSError as exc:
        raise StoreError(f"cannot create the store {str(path)!r}: {exc.strerror or exc}") from None


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
