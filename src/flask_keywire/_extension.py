"""The Flask extension: configuration, the request guard, the decorator and key management.

Every request passes :meth:`KeyWire._guard` once (from ``before_request``, or from the decorator
when a view is called some other way). The guard's order is the point of the design:

1. **Cleartext first.** Over plain HTTP (``request.is_secure`` is False), a request that carries a
   credential, targets a protected endpoint, or arrives while ``KEYWIRE_REFUSE_CLEARTEXT`` is on is
   answered 403 with one constant body. Every key it carried, wherever it was (any header, every
   value of a repeated one, Basic credentials, cookies, the path, the query, the body), is checked
   only to revoke the valid ones; the answer does not change. A revocation the store cannot take
   now is journaled and applied later (``_pending``); the key is refused meanwhile.
2. **Keys only from headers.** Over HTTPS, a key in the URL is never read: the answer is the same
   401 as for no key at all.
3. **Constant-time check.** The key's id selects the record; the HMAC is computed and compared with
   :func:`hmac.compare_digest` for known and unknown ids alike.
4. **Life cycle and scopes.** Revoked (or revocation pending), expired (including the end of a
   rotation overlap), then scopes.

An error while checking a key (the store locked or down) refuses the request with a JSON 503,
never lets it through.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ._config import (
    DEFAULT,
    DEFAULTS,
    Default,
    body_limit,
    check_config,
    check_duration,
    lifetime_from,
    peppers_from,
    proxy_hops,
)
from ._errors import (
    CleartextRefused,
    InsufficientScope,
    InvalidKey,
    KeyInQueryString,
    KeyRequired,
    KeyRevokedForCleartext,
    KeyStoreUnavailable,
    KeyWireError,
)
from ._keys import (
    MalformedKey,
    check_prefix,
    digest_key,
    generate_key,
    match_digest,
    parse_key,
)
from ._logging import audit, install_filter
from ._pending import Pending, PendingRevocations, Reconciler, apply_pending, journal_path
from ._request import Presented, credentials_presented, may_have_body
from ._scan import MAX_KEYS, keys_in_texts, request_texts
from ._sqlite import SQLiteKeyStore
from ._store import KeyRecord, KeyStore, ReadOnlyStoreError, StaticKeyStore
from ._text import check_name, check_scopes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("flask_keywire")

CLEARTEXT_REASON = "cleartext"
#: How long a revocation over cleartext waits for the store's lock before it is journaled.
REVOKE_WAIT_S = 1.0
#: Loggers the redacting filter is installed on (with the application's own logger).
FILTERED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask_keywire")


_G_KEY = "_keywire_key"
_SCOPES_ATTR = "_keywire_scopes"
_EXEMPT_ATTR = "_keywire_exempt"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class _State:
    """Per-application state, kept in ``app.extensions["keywire"]``."""

    extension: KeyWire
    explicit_store: KeyStore | None
    store_spec: object = None
    store: KeyStore | None = None
    pending: PendingRevocations | None = None
    pending_for: tuple[object, object] | None = None
    #: The peppers as bytes, with the configuration values they were made from.
    peppers: tuple[object, list[bytes]] | None = None
    reconciler: Reconciler = field(default_factory=Reconciler)
    #: (id, digest) of keys seen over cleartext whose revocation could not even be journaled.
    burned: set[tuple[str, str]] = field(default_factory=set)
    #: When this process last failed to write a key's last use (not retried before resolution).
    touch_failed: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _TrustedProxies:
    """Apply ``ProxyFix`` for exactly ``KEYWIRE_TRUSTED_PROXIES`` hops, read on every request.

    With 0 (the default) the environment is left alone, so a client's own ``X-Forwarded-Proto``
    never makes ``request.is_secure`` true.
    """

    def __init__(self, wsgi_app: WSGIApplication, config: MutableMapping[str, Any]) -> None:
        self.wsgi_app = wsgi_app
        self._config = config
        self._fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        value = self._config.get("KEYWIRE_TRUSTED_PROXIES", 0)
        if value == 0 and type(value) is int:  # the default, on every request: no work
            return self.wsgi_app(environ, start_response)
        hops = proxy_hops(value)
        fix = self._fixes.get(hops)
        if fix is None:
            fix = self._fixes.setdefault(hops, ProxyFix(self.wsgi_app, x_for=hops, x_proto=hops))
        return fix(environ, start_response)


class KeyWire:
    """API-key authentication for Flask that follows the IETF credential-protection BCP.

    >>> app = Flask(__name__)  # doctest: +SKIP
    >>> app.config["KEYWIRE_PEPPER"] = os.environ["KEYWIRE_PEPPER"]  # doctest: +SKIP
    >>> keywire = KeyWire(app)  # doctest: +SKIP
    >>> @app.get("/v1/resource")  # doctest: +SKIP
    ... @keywire.required(scopes=["read"])
    ... def resource():
    ...     return {"data": "..."}

    ``store`` overrides ``KEYWIRE_STORE`` for every app this instance initialises; ``clock`` returns
    the current time as an aware UTC datetime (tests move it).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: KeyStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self.clock = clock or utcnow
        if app is not None:
            self.init_app(app)

    # -- setup ---------------------------------------------------------------------------------

    def init_app(self, app: Flask, *, store: KeyStore | None = None) -> None:
        """Register the guard, the headers, the proxy handling, the CLI and the log filter.

        Raises :class:`ConfigurationError` if the configuration cannot work (a missing or short
        ``KEYWIRE_PEPPER`` or fallback pepper, bad scopes or durations): set ``KEYWIRE_PEPPER``
        before calling it, so an application without one never starts serving.
        """
        if "keywire" in app.extensions:
            raise RuntimeError("flask_keywire is already initialised on this application")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        check_config(app.config)
        app.extensions["keywire"] = _State(extension=self, explicit_store=store or self._store)
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.wsgi_app = _TrustedProxies(app.wsgi_app, app.config)  # type: ignore[method-assign]
        from ._cli import keywire_cli

        app.cli.add_command(keywire_cli)
        if app.config["KEYWIRE_LOG_FILTER"]:
            params = app.config["KEYWIRE_QUERY_PARAMS"]
            headers = [app.config["KEYWIRE_HEADER"]]
            for name in FILTERED_LOGGERS:
                install_filter(logging.getLogger(name), params, headers)
            install_filter(app.logger, params, headers)

    # -- state ---------------------------------------------------------------------------------

    @staticmethod
    def _state() -> _State:
        try:
            state = current_app.extensions["keywire"]
        except KeyError:
            raise RuntimeError(
                "flask_keywire is not initialised on this application: call KeyWire(app) or "
                "keywire.init_app(app)"
            ) from None
        return cast(_State, state)

    @property
    def store(self) -> KeyStore:
        """The current application's key store (built from ``KEYWIRE_STORE`` on first use)."""
        state = self._state()
        if state.explicit_store is not None:
            return state.explicit_store
        config = current_app.config
        spec: object = config["KEYWIRE_STORE"]
        if isinstance(spec, KeyStore):
            return spec
        if spec is None and config["KEYWIRE_API_KEY_HASH"]:
            spec = ("static", config["KEYWIRE_API_KEY_HASH"], config["KEYWIRE_KEY_PREFIX"])
        if spec is None:
            spec = "sqlite:///" + os.path.join(current_app.instance_path, "keywire.sqlite3")
        with state.lock:
            if state.store is None or state.store_spec != spec:
                if state.store is not None:
                    state.store.close()
                state.store = _build_store(spec)
                state.store_spec = spec
            return state.store

    def _peppers(self) -> list[bytes]:
        config = current_app.config
        state = self._state()
        fallbacks = config["KEYWIRE_PEPPER_FALLBACKS"]
        key = (
            config["KEYWIRE_PEPPER"],
            tuple(fallbacks) if isinstance(fallbacks, list) else fallbacks,
        )
        if state.peppers is None or state.peppers[0] != key:
            state.peppers = (key, peppers_from(config))
        return state.peppers[1]

    def _pending(self) -> PendingRevocations:
        """The journal of revocations the store has not taken yet (see ``_pending``)."""
        state = self._state()
        store = self.store
        configured = current_app.config["KEYWIRE_PENDING_REVOCATIONS"]
        pending = state.pending
        if pending is None or state.pending_for != (store, configured):
            with state.lock:
                path = journal_path(store, current_app.instance_path, configured)
                pending = state.pending
                if pending is None or pending.path != path:
                    pending = state.pending = PendingRevocations(path)
                state.pending_for = (store, configured)
        return pending

    # -- protection ----------------------------------------------------------------------------

    @overload
    def required(self, view: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def required(
        self, view: None = None, /, *, scopes: Iterable[str] = ()
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def required(
        self, view: Callable[P, R] | None = None, /, *, scopes: Iterable[str] = ()
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Require a valid key with every one of ``scopes`` (``@keywire.required`` also works).

        The ``before_request`` guard already checks decorated views; the wrapper checks again in
        case the view is reached without it (another decorator stacked without
        :func:`functools.wraps`, or a view called directly inside a request).
        """
        needed = check_scopes(scopes, what="required scopes")

        def decorate(function: Callable[P, R]) -> Callable[P, R]:
            @functools.wraps(function)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                record: KeyRecord | None = g.get(_G_KEY)
                if record is None:
                    self._guard(needed)
                elif not needed <= record.scopes:
                    raise InsufficientScope(needed, realm=current_app.config["KEYWIRE_REALM"])
                return cast(R, current_app.ensure_sync(function)(*args, **kwargs))

            setattr(wrapper, _SCOPES_ATTR, needed)
            return wrapper

        if view is not None:
            return decorate(view)
        return decorate

    def exempt(self, view: Callable[P, R]) -> Callable[P, R]:
        """Leave a view open (no key) when ``KEYWIRE_PROTECT_ALL`` is on; cleartext rules still apply."""
        setattr(view, _EXEMPT_ATTR, True)
        return view

    @staticmethod
    def _endpoint_scopes() -> frozenset[str] | None:
        """The scopes the matched endpoint requires, or None if it is open."""
        config = current_app.config
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and getattr(view, _EXEMPT_ATTR, False):
            return None
        scopes = getattr(view, _SCOPES_ATTR, None) if view is not None else None
        if scopes is not None:
            return cast(frozenset[str], scopes)
        if config["KEYWIRE_PROTECT_ALL"]:
            # Unmatched URLs too: a client without a key learns nothing about which routes exist.
            return check_scopes(config["KEYWIRE_DEFAULT_SCOPES"], what="KEYWIRE_DEFAULT_SCOPES")
        return None

    def _before_request(self) -> Any:
        scopes = self._endpoint_scopes()
        if (
            scopes is not None
            and request.method == "OPTIONS"
            and request.is_secure
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        ):
            # A real CORS preflight carries no credentials by design. It is answered here with
            # Flask's automatic OPTIONS response (after_request hooks, such as flask-cors, add
            # their headers), and the view never runs: a view that declares OPTIONS itself would
            # otherwise run its body for anyone.
            return current_app.make_default_options_response()
        self._guard(scopes)
        return None

    def _guard(self, scopes: frozenset[str] | None) -> None:
        """Apply the policy to the current request; ``scopes`` None means an open endpoint."""
        if not request.is_secure:
            self._refuse_cleartext(credentials_presented(), scopes)
            return
        if scopes is None:
            return
        presented = credentials_presented()
        realm = current_app.config["KEYWIRE_REALM"]
        if presented.query_keys:
            raise KeyInQueryString(realm=realm)
        keys = set(presented.header_keys)
        if not keys:
            raise KeyRequired(realm=realm)
        if len(keys) > 1:
            raise InvalidKey("Send one API key per request.", realm=realm)
        record = self._authenticate(keys.pop(), scopes)
        g.setdefault(_G_KEY, record)

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

    def authenticate(self, plaintext: str, *, scopes: Iterable[str] = ()) -> KeyRecord:
        """The record of a usable key with ``scopes``, or a typed HTTP error (401/403/503).

        Call it inside an application context; it records the key's last use (at most once per
        ``KEYWIRE_LAST_USED_RESOLUTION`` seconds). If the key cannot be checked (the store is
        locked or down), it raises :class:`KeyStoreUnavailable`: an error never lets a key in.
        """
        return self._authenticate(plaintext, check_scopes(scopes))

    def _authenticate(self, plaintext: str, needed: frozenset[str]) -> KeyRecord:
        config = current_app.config
        realm = config["KEYWIRE_REALM"]
        try:
            record = self._verify(plaintext)
            burned = record is not None and self._burned(record)
        except KeyWireError:
            raise
        except Exception:
            log.exception("could not check an API key; the request is refused")
            raise KeyStoreUnavailable(realm=realm) from None
        now = self.clock()
        if record is None:
            raise InvalidKey(realm=realm)
        if record.revoked_reason == CLEARTEXT_REASON or burned:
            raise KeyRevokedForCleartext(realm=realm)
        if not record.usable(now):
            raise InvalidKey(realm=realm)
        if not needed <= record.scopes:
            raise InsufficientScope(needed, realm=realm)
        self._touch(record, now, int(config["KEYWIRE_LAST_USED_RESOLUTION"]))
        return record

    def _touch(self, record: KeyRecord, now: datetime, resolution: int) -> None:
        """Write the key's last use if the stored time is stale by ``resolution`` seconds.

        The record was just read, so a busy key costs one write per resolution, not one per
        request. A failed write (the file is held) is bookkeeping: the key is still served, and
        this process does not try again for that key before the resolution has passed.
        """
        last = record.last_used_at
        if last is not None and (now - last).total_seconds() < resolution:
            return
        failures = self._state().touch_failed
        failed = failures.get(record.id)
        if failed is not None and (now - failed).total_seconds() < resolution:
            return
        try:
            self.store.touch(record.id, at=now, resolution_s=resolution)
        except Exception as exc:  # a failed bookkeeping write must not turn a valid key away
            if len(failures) > 10_000:
                failures.clear()
            failures[record.id] = now
            log.warning(
                "could not record the last use of key %s (%s)", record.id, type(exc).__name__
            )

    def _burned(self, record: KeyRecord) -> bool:
        """True if this key's revocation for cleartext use is pending (journaled, not yet
        written) or could not even be journaled. Raises if the journal cannot be read."""
        state = self._state()
        if (record.id, record.digest) in state.burned:
            return True
        pending = self._pending()
        if pending.blocks(record.id, record.digest):
            state.reconciler.ensure_running(self.store, pending)
            return True
        return False

    def _verify(self, plaintext: str) -> KeyRecord | None:
        """The record whose digest matches ``plaintext``, with the same work whatever the outcome."""
        peppers = self._peppers()
        try:
            key_id: str | None = parse_key(plaintext).key_id
        except MalformedKey:
            key_id = None
        store = self.store
        record = store.get(key_id) if key_id is not None else None
        match = match_digest(plaintext, record.digest if record is not None else None, peppers)
        if record is None or not match.matched:
            return None
        if match.pepper_index > 0 and not store.read_only:
            # Verified with a fallback pepper: re-hash with the current one, like a password
            # hash upgrade, so the fallback can be retired.
            store.set_digest(record.id, digest_key(plaintext, peppers[0]))
        return record

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

    def _after_request(self, response: Any) -> Any:
        config = current_app.config
        hsts = config["KEYWIRE_HSTS"]
        if request.is_secure and hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        if g.get(_G_KEY) is not None:
            response.headers["Cache-Control"] = "no-store"
        return response

    @property
    def current_key(self) -> KeyRecord | None:
        """The record of the key that authenticated this request, or None."""
        return current_key()

    # -- key management ------------------------------------------------------------------------

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


def current_key() -> KeyRecord | None:
    """The record of the key that authenticated the current request, or None."""
    record: KeyRecord | None = g.get(_G_KEY)
    return record


def _build_store(spec: object) -> KeyStore:
    if isinstance(spec, tuple) and spec and spec[0] == "static":
        return StaticKeyStore(str(spec[1]), prefix=str(spec[2]))
    if isinstance(spec, str):
        if spec.startswith("sqlite:///"):
            path = spec[len("sqlite:///") :]
            if not path or path == ":memory:":
                raise RuntimeError("KEYWIRE_STORE needs a SQLite file, not an in-memory database")
            return SQLiteKeyStore(path)
        if "://" in spec:
            from ._sqlalchemy import SQLAlchemyKeyStore

            return SQLAlchemyKeyStore(spec)
    raise RuntimeError(
        "KEYWIRE_STORE must be a KeyStore, a database URL (sqlite:///path, postgresql://...), "
        "or None for the default SQLite file in the instance folder"
    )
