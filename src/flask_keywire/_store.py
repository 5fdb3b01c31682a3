"""Where key records live: a small interface and the read-only store for configuration.

A :class:`KeyStore` keeps :class:`KeyRecord` values: the key's id, its HMAC digest (never the key),
its scopes and its life cycle (created, expires, last used, revoked, replaced). Three stores ship:

* :class:`~flask_keywire.SQLiteKeyStore`: stdlib ``sqlite3``, the embedded default;
* :class:`~flask_keywire.SQLAlchemyKeyStore`: any database URL SQLAlchemy speaks;
* :class:`StaticKeyStore`: read-only, from configuration or the environment, for an API that has
  one or two keys (the seed's single ``API_KEY``), given as digests, never as keys.

Writes are narrow (``touch``, ``revoke``, ``retire``, ``set_digest``) rather than "save the whole
record", so a concurrent last-used update can never undo a revocation.
"""

from __future__ import annotations

import abc
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ReadOnlyStoreError(RuntimeError):
    """The store cannot change (keys given in configuration); change the configuration instead."""


@dataclass(frozen=True, kw_only=True)
class KeyRecord:
    """What the server knows about one key. ``digest`` is HMAC-SHA256(pepper, key), hex."""

    id: str
    name: str
    prefix: str
    digest: str = field(repr=False)
    scopes: frozenset[str] = frozenset()
    created_at: datetime = EPOCH
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    replaced_by: str | None = None

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def usable(self, now: datetime) -> bool:
        return self.status(now) == "active"


class KeyStore(abc.ABC):
    """Storage for key records. Implementations must be safe to call from several threads."""

    #: True when keys cannot be added, revoked or changed through the store.
    read_only: bool = False
    #: Where revocations that could not be written yet are kept; None: the instance folder.
    pending_path: Path | None = None

    @abc.abstractmethod
    def get(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id``, or None."""

    @abc.abstractmethod
    def list_keys(self) -> list[KeyRecord]:
        """Every record, oldest first."""

    @abc.abstractmethod
    def add(self, record: KeyRecord) -> None:
        """Store a new record; raise ValueError if its id exists."""

    @abc.abstractmethod
    def revoke(self, key_id: str, *, at: datetime, reason: str) -> bool:
        """Mark a key revoked; False if it does not exist or was revoked already."""

    def get_many(self, key_ids: Iterable[str]) -> dict[str, KeyRecord]:
        """The records of those ``key_ids`` that exist, by id (stores may do it in one query)."""
        found: dict[str, KeyRecord] = {}
        for key_id in dict.fromkeys(key_ids):
            record = self.get(key_id)
            if record is not None:
                found[key_id] = record
        return found

    def revoke_within(self, key_id: str, *, at: datetime, reason: str, wait: float) -> bool:
        """:meth:`revoke`, giving up (with an exception) after about ``wait`` seconds of waiting
        for a lock. Stores that do not wait for locks need not override it."""
        return self.revoke(key_id, at=at, reason=reason)

    @abc.abstractmethod
    def retire(self, key_id: str, *, expires_at: datetime, replaced_by: str) -> None:
        """Shorten a key's life to ``expires_at`` (if later) and note its successor (rotation)."""

    @abc.abstractmethod
    def touch(self, key_id: str, *, at: datetime, resolution_s: int = 60) -> None:
        """Record a use; writes only when the stored time is older than ``resolution_s``."""

    @abc.abstractmethod
    def set_digest(self, key_id: str, digest: str) -> None:
        """Replace the digest (after the pepper rotated)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing open
        """Release resources (connections); the default does nothing."""


def to_epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("datetimes given to a key store must be timezone-aware")
    return int(value.timestamp())


def from_epoch(value: int | float | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), tz=timezone.utc)


def join_scopes(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


def split_scopes(text: str | None) -> frozenset[str]:
    return frozenset(s for s in re.split(r"[\s,]+", text or "") if s)


_HASH_LINE = re.compile(
    r"(?P<id>[0-9A-Za-z]{12}):(?P<digest>[0-9a-f]{64})(?::(?P<scopes>[\w.:,-]*))?"
)


def hash_line(record: KeyRecord) -> str:
    """A record in the static store's one-line form: ``<id>:<digest>[:<scope>,<scope>]``."""
    scopes = ",".join(sorted(record.scopes))
    return f"{record.id}:{record.digest}" + (f":{scopes}" if scopes else "")


class StaticKeyStore(KeyStore):
    """Read-only keys from configuration, one ``<id>:<digest>[:scopes]`` line per key.

    For the seed's single-key API: instead of ``API_KEY = "..."`` in the code, the deployment sets
    ``KEYWIRE_API_KEY_HASH`` (printed by ``flask keywire create`` when this store is in use). To
    rotate, list the new line beside the old one for the overlap, then drop the old one, as with
    ``SECRET_KEY_FALLBACKS``.

    A key seen over cleartext cannot be revoked here: flask_keywire refuses it for the rest of the
    process and logs a critical audit event asking for its line to be removed.
    """

    read_only = True

    def __init__(self, lines: str | Sequence[str], *, prefix: str = "kw_live") -> None:
        text = lines if isinstance(lines, str) else "\n".join(lines)
        records: dict[str, KeyRecord] = {}
        for number, item in enumerate(text.split(), start=1):
            match = _HASH_LINE.fullmatch(item)
            if match is None:
                raise ValueError(
                    f"KEYWIRE_API_KEY_HASH entry {number} is not '<id>:<sha256 hex>[:scopes]' "
                    "(it must be the digest printed by `flask keywire create`, never the key)"
                )
            records[match["id"]] = KeyRecord(
                id=match["id"],
                name=f"config:{match['id']}",
                prefix=prefix,
                digest=match["digest"],
                scopes=split_scopes(match["scopes"]),
            )
        self._records = records

    @classmethod
    def from_env(
        cls, variable: str = "KEYWIRE_API_KEY_HASH", *, environ: Mapping[str, str] | None = None
    ) -> StaticKeyStore:
        """The store from an environment variable (empty if it is unset)."""
        env = os.environ if environ is None else environ
        return cls(env.get(variable, ""))

    def get(self, key_id: str) -> KeyRecord | None:
        return self._records.get(key_id)

    def list_keys(self) -> list[KeyRecord]:
        return list(self._records.values())

    def _refuse(self) -> ReadOnlyStoreError:
        return ReadOnlyStoreError(
            "keys come from KEYWIRE_API_KEY_HASH and cannot be changed here; edit the configuration"
        )

    def add(self, record: KeyRecord) -> None:
        raise self._refuse()

    def revoke(self, key_id: str, *, at: datetime, reason: str) -> bool:
        raise self._refuse()

    def retire(self, key_id: str, *, expires_at: datetime, replaced_by: str) -> None:
        raise self._refuse()

    def touch(self, key_id: str, *, at: datetime, resolution_s: int = 60) -> None:
        return None  # last-used times are not kept for configured keys

    def set_digest(self, key_id: str, digest: str) -> None:
        return None  # a configured digest stays as configured; the fallback pepper keeps working
