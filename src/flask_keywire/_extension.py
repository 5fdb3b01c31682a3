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

:class:`KeyWire` is written in parts: step 1 (the cleartext refusal and revocation) is
:mod:`flask_keywire._cleartext`, key management :mod:`flask_keywire._management`, the
per-application state and the store's construction :mod:`flask_keywire._state`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast, overload

from flask import Flask, current_app, g, request

from ._cleartext import CLEARTEXT_REASON, CleartextDefence
from ._config import (
    DEFAULTS,
    check_config,
    peppers_from,
)
from ._errors import (
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
    digest_key,
    match_digest,
    parse_key,
)
from ._logging import install_filter
from ._management import KeyManagement
from ._pending import PendingRevocations, journal_path
from ._request import credentials_presented
from ._state import State, TrustedProxies, build_store, utcnow
from ._store import KeyRecord, KeyStore
from ._text import check_scopes

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("flask_keywire")

#: Loggers the redacting filter is installed on (with the application's own logger).
FILTERED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask_keywire")


_G_KEY = "_keywire_key"
_SCOPES_ATTR = "_keywire_scopes"
_EXEMPT_ATTR = "_keywire_exempt"


class KeyWire(CleartextDefence, KeyManagement):
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
        app.extensions["keywire"] = State(extension=self, explicit_store=store or self._store)
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config)  # type: ignore[method-assign]
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
    def _state() -> State:
        try:
            state = current_app.extensions["keywire"]
        except KeyError:
            raise RuntimeError(
                "flask_keywire is not initialised on this application: call KeyWire(app) or "
                "keywire.init_app(app)"
            ) from None
        return cast(State, state)

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
                state.store = build_store(spec)
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


def current_key() -> KeyRecord | None:
    """The record of the key that authenticated the current request, or None."""
    record: KeyRecord | None = g.get(_G_KEY)
    return record
