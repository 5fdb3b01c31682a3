"""A store for any database SQLAlchemy can reach (``pip install 'sqlalchemy>=2.0'``).

SQLAlchemy Core only (no ORM models to clash with the application's own), one table
``keywire_keys`` with the same columns as the SQLite store, created on first use.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ._sqlite import TABLE
from ._store import KeyRecord, KeyStore, from_epoch, join_scopes, split_scopes, to_epoch

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table


def _table(metadata: Any) -> Table:
    from sqlalchemy import BigInteger, Column, String, Table, Text

    return Table(
        TABLE,
        metadata,
        Column("id", String(32), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("prefix", String(80), nullable=False),
        Column("digest", String(64), nullable=False),
        Column("scopes", Text, nullable=False, default=""),
        Column("created_at", BigInteger, nullable=False),
        Column("expires_at", BigInteger),
        Column("last_used_at", BigInteger),
        Column("revoked_at", BigInteger),
        Column("revoked_reason", String(200)),
        Column("replaced_by", String(32)),
    )


class SQLAlchemyKeyStore(KeyStore):
    """Keys in any SQLAlchemy database, given a URL or an :class:`~sqlalchemy.Engine`.

    >>> store = SQLAlchemyKeyStore("postgresql+psycopg://keywire@db/keys")  # doctest: +SKIP
    """

    def __init__(self, url_or_engine: str | Engine, **engine_options: Any) -> None:
        try:
            from sqlalchemy import MetaData, create_engine
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise RuntimeError(
                "SQLAlchemyKeyStore needs SQLAlchemy: pip install 'sqlalchemy>=2.0'"
            ) from exc
        if isinstance(url_or_engine, str):
            self.engine = create_engine(url_or_engine, **engine_options)
            self._owns_engine = True
        else:
            self.engine = url_or_engine
            self._owns_engine = False
        self.table = _table(MetaData())
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLAlchemyKeyStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.table.create(self.engine, checkfirst=True)
                    self._ready = True

    def _record(self, row: Any) -> KeyRecord:
        created = from_epoch(row.created_at)
        assert created is not None
        return KeyRecord(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            digest=row.digest,
            scopes=split_scopes(row.scopes),
            created_at=created,
            expires_at=from_epoch(row.expires_at),
            last_used_at=from_epoch(row.last_used_at),
            revoked_at=from_epoch(row.revoked_at),
            revoked_reason=row.revoked_reason,
            replaced_by=row.replaced_by,
        )

    def get(self, key_id: str) -> KeyRecord | None:
        from sqlalchemy import select

        self._ensure()
        with self.engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.id == key_id)).first()
        return None if row is None else self._record(row)

    def list_keys(self) -> list[KeyRecord]:
        from sqlalchemy import select

        self._ensure()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(self.table).order_by(self.table.c.created_at, self.table.c.id)
            ).all()
        return [self._record(row) for row in rows]

    def add(self, record: KeyRecord) -> None:
        from sqlalchemy.exc import IntegrityError

        self._ensure()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    self.table.insert().values(
                        id=record.id,
                        name=record.name,
                        prefix=record.prefix,
                        digest=record.digest,
                        scopes=join_scopes(record.scopes),
                        created_at=to_epoch(record.created_at),
                        expires_at=to_epoch(record.expires_at),
                        last_used_at=to_epoch(record.last_used_at),
                        revoked_at=to_epoch(record.revoked_at),
                        revoked_reason=record.revoked_reason,
                        replaced_by=record.replaced_by,
                    )
                )
        except IntegrityError as exc:
            raise ValueError(f"key id {record.id} exists already") from exc

    def revoke(self, key_id: str, *, at: datetime, reason: str) -> bool:
        self._ensure()
        c = self.table.c
        with self.engine.begin() as conn:
            result = conn.execute(
                self.table.update()
                .where(c.id == key_id, c.revoked_at.is_(None))
                .values(revoked_at=to_epoch(at), revoked_reason=reason)
            )
            return bool(result.rowcount == 1)

    def retire(self, key_id: str, *, expires_at: datetime, replaced_by: str) -> None:
        from sqlalchemy import case, or_

        self._ensure()
        c = self.table.c
        epoch = to_epoch(expires_at)
        with self.engine.begin() as conn:
            conn.execute(
                self.table.update()
                .where(c.id == key_id)
                .values(
                    replaced_by=replaced_by,
                    expires_at=case(
                        (or_(c.expires_at.is_(None), c.expires_at > epoch), epoch),
                        else_=c.expires_at,
                    ),
                )
            )

    def touch(self, key_id: str, *, at: datetime, resolution_s: int = 60) -> None:
        from sqlalchemy import or_

        self._ensure()
        c = self.table.c
        epoch = to_epoch(at)
        assert epoch is not None
        with self.engine.begin() as conn:
            conn.execute(
                self.table.update()
                .where(
                    c.id == key_id,
                    or_(c.last_used_at.is_(None), c.last_used_at <= epoch - resolution_s),
                )
                .values(last_used_at=epoch)
            )

    def set_digest(self, key_id: str, digest: str) -> None:
        self._ensure()
        with self.engine.begin() as conn:
            conn.execute(self.table.update().where(self.table.c.id == key_id).values(digest=digest))

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()
