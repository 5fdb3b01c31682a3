"""Over cleartext: the constant 403, and the revocation of every valid key that crossed the
network in the clear (journaled when the store cannot take it now; see ``_pending``).

The part of :class:`~flask_keywire.KeyWire`'s guard that runs when ``request.is_secure`` is
False (step 1 of the order :mod:`flask_keywire._extension` describes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app, request

from ._config import body_limit
from ._errors import CleartextRefused
from ._keys import digest_key, match_digest, parse_key
from ._logging import audit
from ._pending import Pending
from ._request import Presented, may_have_body
from ._scan import MAX_KEYS, keys_in_texts, request_texts

if TYPE_CHECKING:
    from ._pending import PendingRevocations
    from ._state import State
    from ._store import KeyStore

log = logging.getLogger("flask_keywire")

#: The revocation reason of keys seen over cleartext.
CLEARTEXT_REASON = "cleartext"
#: How long a revocation over cleartext waits for the store's lock before it is journaled.
REVOKE_WAIT_S = 1.0


class CleartextDefence:
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

    def _refuse_cleartext(self, presented: Presented, scopes: frozenset[str] | None) -> None:
        """Over cleartext: refuse with the constant 403 (and revoke), or let an open request by.

        Every key the request carried anywhere is revoked if valid. The 403 does not depend on
        what was found, nor on whether revoking worked.
        """
        config = current_app.config
        limit = body_limit(config)
        refuse = presented.any or scopes is not None or bool(config["KEYWIRE_REFUSE_CLEARTEXT"])
        body = b""
        try:
            if refuse:
                # Refused anyway: read what the revocation scan needs, the rest stays unread.
                body = request.stream.read(limit) if may_have_body() and limit else b""
            elif not may_have_body():
                pass
            elif request.content_length is not None and request.content_length <= limit:
                body = request.get_data(cache=True)  # the view can still read it
            else:
                # A body too large to check for keys cannot be shown to be credential-less.
                refuse = True
                body = request.stream.read(limit) if limit else b""
        except Exception:
            # The client went away mid-body, say: what the headers and URL hold is still
            # searched, and the answer is still the one 403.
            refuse = True
        found = keys_in_texts(request_texts(request.environ, body), limit=MAX_KEYS)
        if not (refuse or found):
            return
        if found and config["KEYWIRE_REVOKE_ON_CLEARTEXT"]:
            try:
                self._revoke_cleartext(found)
            except Exception:
                # The answer over cleartext never changes, not even when revoking fails.
                log.exception("could not revoke keys seen over cleartext")
        raise CleartextRefused()

    def _revoke_cleartext(self, candidates: list[str]) -> None:
        """Revoke every valid key among ``candidates``: they crossed the network in the clear.

        What the store cannot take now is journaled (fail closed: the key is refused until the
        revocation is written); a read-only store's keys are journaled for good.
        """
        state = self._state()
        peppers = self._peppers()
        now = self.clock()
        ids = {key: parse_key(key).key_id for key in candidates}
        try:
            store = self.store
            records = store.get_many(ids.values())
        except Exception as exc:
            # Nothing can be verified now: keep every candidate, unverified, by its digests.
            log.error(
                "the key store is unavailable (%s); %d key(s) seen over cleartext will be "
                "checked and revoked when it is back, and are refused meanwhile",
                type(exc).__name__,
                len(ids),
            )
            self._journal(
                [
                    Pending(key_id=key_id, digest=digest_key(key, p), verified=False, seen_at=now)
                    for key, key_id in ids.items()
                    for p in peppers
                ]
            )
            return
        for key, key_id in ids.items():
            record = records.get(key_id)
            if record is None or not match_digest(key, record.digest, peppers).matched:
                continue
            if record.revoked_at is not None:
                continue
            entry = Pending(key_id=key_id, digest=record.digest, verified=True, seen_at=now)
            if store.read_only:
                if (key_id, record.digest) not in state.burned:
                    self._journal([entry])
                    audit(
                        "key.cleartext",
                        key_id=key_id,
                        level=logging.CRITICAL,
                        action="refused",
                        remedy="remove this key from KEYWIRE_API_KEY_HASH and issue a new one",
                    )
                continue
            try:
                revoked = store.revoke_within(
                    key_id, at=now, reason=CLEARTEXT_REASON, wait=REVOKE_WAIT_S
                )
            except Exception as exc:
                log.warning(
                    "could not revoke key %s now (%s); the revocation is pending and the key "
                    "is refused meanwhile",
                    key_id,
                    type(exc).__name__,
                )
                self._journal([entry])
                audit("key.revocation-pending", key_id=key_id, reason=CLEARTEXT_REASON)
                continue
            if revoked:
                audit("key.revoked", key_id=key_id, reason=CLEARTEXT_REASON)

    def _journal(self, entries: list[Pending]) -> None:
        """Keep ``entries`` durably, start applying them; if even that fails, refuse the keys in
        this process at least, and say so loudly."""
        state = self._state()
        try:
            pending = self._pending()
            pending.add(entries)
        except Exception:
            state.burned.update((e.key_id, e.digest) for e in entries)
            log.critical(
                "could not record %d pending revocation(s) of keys seen over cleartext; they "
                "are refused by this process only. Revoke them by hand: %s",
                len(entries),
                " ".join(sorted({e.key_id for e in entries})),
                exc_info=True,
            )
            return
        state.reconciler.ensure_running(self.store, pending)
