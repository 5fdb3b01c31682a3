"""Key management, the part of :class:`~flask_keywire.KeyWire` an operator calls: issue, create,
revoke, rotate and list keys, and apply the revocations still pending."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app

from ._config import DEFAULT, Default, check_duration, lifetime_from
from ._keys import check_prefix, digest_key, generate_key
from ._logging import audit
from ._pending import apply_pending
from ._store import KeyRecord, ReadOnlyStoreError
from ._text import check_name, check_scopes

if TYPE_CHECKING:
    from ._pending import PendingRevocations
    from ._state import State
    from ._store import KeyStore


class KeyManagement:
    """Mixed into :class:`~flask_keywire.KeyWire`, which provides the clock, the store, the
    peppers, the journal of pending revocations and the application's state."""

    if TYPE_CHECKING:
        clock: Callable[[], datetime]

        @property
        def store(self) -> KeyStore: ...

        def _peppers(self) -> list[bytes]: ...

        def _pending(self) -> PendingRevocations: ...

        @staticmethod
        def _state() -> State: ...

    def issue_key(
        self,
        name: str,
        *,
        scopes: Iterable[str] = (),
        expires_in: timedelta | Default | None = DEFAULT,
        prefix: str | None = None,
    ) -> tuple[str, KeyRecord]:
        """A new key and its record, *not stored* (see :meth:`create_key`)."""
        prefix = check_prefix(prefix or current_app.config["KEYWIRE_KEY_PREFIX"])
        name = check_name(name)
        checked_scopes = check_scopes(scopes)
        if expires_in is DEFAULT:
            expires_in = lifetime_from(current_app.config)
        expires_in = check_duration(expires_in, what="expiry")
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValueError("expiry must be in the future")
        new = generate_key(prefix)
        now = self.clock()
        record = KeyRecord(
            id=new.key_id,
            name=name,
            prefix=prefix,
            digest=digest_key(new.plaintext, self._peppers()[0]),
            scopes=checked_scopes,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        return new.plaintext, record

    def create_key(
        self,
        name: str,
        *,
        scopes: Iterable[str] = (),
        expires_in: timedelta | Default | None = DEFAULT,
        prefix: str | None = None,
    ) -> tuple[str, KeyRecord]:
        """Create and store a key; return ``(key, record)``. Show the key once, keep the record.

        ``name``: 1 to 100 printable characters. ``scopes``: a list of scope names (letters,
        digits, ``_ . : -``). ``expires_in``: a timedelta (at most 10 years), None for a key that
        never expires, or left out for ``KEYWIRE_KEY_LIFETIME`` (90 days by default).
        """
        plaintext, record = self.issue_key(
            name, scopes=scopes, expires_in=expires_in, prefix=prefix
        )
        self.store.add(record)
        audit("key.created", key_id=record.id, level=logging.INFO, name=record.name)
        return plaintext, record

    def revoke_key(self, key_id: str, *, reason: str = "manual") -> bool:
        """Revoke ``key_id`` now; False if it is unknown or already revoked."""
        revoked = self.store.revoke(key_id, at=self.clock(), reason=reason)
        if revoked:
            audit("key.revoked", key_id=key_id, reason=reason)
        return revoked

    def rotate_key(
        self,
        key_id: str,
        *,
        overlap: timedelta,
        expires_in: timedelta | Default | None = DEFAULT,
    ) -> tuple[str, KeyRecord]:
        """Replace ``key_id`` with a new key; the old one keeps working for ``overlap``.

        Like ``SECRET_KEY_FALLBACKS``: during the overlap both keys are accepted, so clients can
        switch without downtime; afterwards the old one is expired. The overlap is a duration
        (0: the old key stops now); it cannot be "never", which would not be a rotation. The new
        key keeps the name, scopes and prefix, and the old key's lifetime unless ``expires_in``
        says otherwise (None: it never expires).
        """
        if not isinstance(overlap, timedelta):
            raise TypeError(
                "the overlap must be a timedelta; an overlap that never ends is not a rotation"
            )
        if overlap < timedelta(0):
            raise ValueError("the overlap cannot be negative")
        check_duration(overlap, what="overlap")
        store = self.store
        if store.read_only:
            raise ReadOnlyStoreError(
                "configured keys rotate in the configuration: add the new hash line, "
                "remove the old one after the overlap"
            )
        old = store.get(key_id)
        now = self.clock()
        if old is None:
            raise KeyError(key_id)
        if not old.usable(now):
            raise ValueError(f"key {key_id} is {old.status(now)}; create a new key instead")
        if expires_in is DEFAULT:
            expires_in = old.expires_at - old.created_at if old.expires_at is not None else None
        plaintext, new = self.create_key(
            old.name, scopes=old.scopes, expires_in=expires_in, prefix=old.prefix
        )
        store.retire(old.id, expires_at=now + overlap, replaced_by=new.id)
        audit(
            "key.rotated",
            key_id=old.id,
            replaced_by=new.id,
            overlap_s=str(int(overlap.total_seconds())),
        )
        return plaintext, new

    def list_keys(self) -> list[KeyRecord]:
        """Every key record of the current application's store."""
        return self.store.list_keys()

    def apply_pending_revocations(self, *, wait: float = 0.0) -> list[str]:
        """Try to write the journal's revocations now; return the ids still pending.

        ``flask keywire list`` calls it; ``wait`` > 0 also waits that long for the background
        retries of this process to finish.
        """
        pending = self._pending()
        if wait > 0:
            self._state().reconciler.join(wait)
        with contextlib.suppress(Exception):  # still unavailable: reported as pending
            apply_pending(self.store, pending)
        return sorted({e.key_id for e in pending.entries()})
