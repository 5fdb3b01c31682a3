"""The Flask extension: configuration, the request guard, the decorator and key management.

Every request passes :meth:`KeyWire._guard` once (from ``before_request``, or from the decorator
when a view is called some other way). The guard's order is the point of the design:

1. **Cleartext first.** Over plain HTTP (``request.is_secure`` is False), a request that carries a
   credential, targets a protected endpoint, or arrives while ``KEYWIRE_REFUSE_CLEARTEXT`` is on is
   answered 403 with one constant body. Keys it carried are checked only to revoke the valid ones;
   the answer does not change.
2. **Keys only from headers.** Over HTTPS, a key in the URL is never read: the answer is the same
   401 as for no key at all.
3. **Constant-time check.** The key's id selects the record; the HMAC is computed and compared with
   :func:`hmac.compare_digest` for known and unknown ids alike.
4. **Life cycle and scopes.** Revoked, expired (including the end of a rotation overlap), then
   scopes.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from ._errors import (
    CleartextRefused,
    InsufficientScope,
    InvalidKey,
    KeyInQueryString,
    KeyRequired,
    KeyRevokedForCleartext,
)
from ._keys import (
    MalformedKey,
    check_prefix,
    digest_key,
    generate_key,
    looks_like_key,
    match_digest,
    parse_key,
    pepper_bytes,
)
from ._logging import DEFAULT_QUERY_PARAMS, audit, install_filter
from ._sqlite import SQLiteKeyStore
from ._store import KeyRecord, KeyStore, ReadOnlyStoreError, StaticKeyStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("flask_keywire")

CLEARTEXT_REASON = "cleartext"
HSTS_TWO_YEARS = "max-age=63072000; includeSubDomains"

#: Every configuration key, with its default (set with ``app.config.setdefault``).
DEFAULTS: Mapping[str, Any] = {
    "KEYWIRE_PEPPER": None,
    "KEYWIRE_PEPPER_FALLBACKS": (),
    "KEYWIRE_STORE": None,
    "KEYWIRE_API_KEY_HASH": None,
    "KEYWIRE_KEY_PREFIX": "kw_live",
    "KEYWIRE_HEADER": "X-API-Key",
    "KEYWIRE_QUERY_PARAMS": DEFAULT_QUERY_PARAMS,
    "KEYWIRE_PROTECT_ALL": False,
    "KEYWIRE_DEFAULT_SCOPES": (),
    "KEYWIRE_REFUSE_CLEARTEXT": True,
    "KEYWIRE_REVOKE_ON_CLEARTEXT": True,
    "KEYWIRE_TRUSTED_PROXIES": 0,
    "KEYWIRE_HSTS": HSTS_TWO_YEARS,
    "KEYWIRE_REALM": "api",
    "KEYWIRE_LOG_FILTER": True,
    "KEYWIRE_LAST_USED_RESOLUTION": 60,
}

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
    #: Ids of keys seen over cleartext that a read-only store could not revoke.
    burned: set[str] = field(default_factory=set)
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
        hops = _hops(self._config.get("KEYWIRE_TRUSTED_PROXIES", 0))
        if hops == 0:
            return self.wsgi_app(environ, start_response)
        fix = self._fixes.get(hops)
        if fix is None:
            fix = self._fixes.setdefault(hops, ProxyFix(self.wsgi_app, x_for=hops, x_proto=hops))
        return fix(environ, start_response)


def _hops(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuntimeError("KEYWIRE_TRUSTED_PROXIES must be the number of proxies (an int >= 0)")
    return value


@dataclass(frozen=True)
class _Presented:
    """The credentials one request carries, sorted by where they were found."""

    header_keys: tuple[str, ...]  # values from Authorization: Bearer and the key header
    query_keys: tuple[str, ...]  # values of key-like query parameters, or key-shaped values
    other: bool  # any other credential-bearing header (Basic, Proxy-Authorization, ...)

    @property
    def any(self) -> bool:
        return bool(self.header_keys or self.query_keys or self.other)


def _presented() -> _Presented:
    config = current_app.config
    header_keys: list[str] = []
    other = False
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            header_keys.append(token.strip())
        else:
            other = True
    header_value = request.headers.get(config["KEYWIRE_HEADER"])
    if header_value is not None:
        header_keys.append(header_value.strip())
    if request.headers.get("Proxy-Authorization") is not None:
        other = True
    names = {n.lower() for n in config["KEYWIRE_QUERY_PARAMS"]}
    query_keys = [
        value
        for name, value in request.args.items(multi=True)
        if name.lower() in names or looks_like_key(value)
    ]
    return _Presented(header_keys=tuple(header_keys), query_keys=tuple(query_keys), other=other)


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
        """Register the guard, the headers, the proxy handling, the CLI and the log filter."""
        if "keywire" in app.extensions:
            raise RuntimeError("flask_keywire is already initialised on this application")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        _hops(app.config["KEYWIRE_TRUSTED_PROXIES"])
        app.extensions["keywire"] = _State(extension=self, explicit_store=store or self._store)
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.wsgi_app = _TrustedProxies(app.wsgi_app, app.config)  # type: ignore[method-assign]
        from ._cli import keywire_cli

        app.cli.add_command(keywire_cli)
        if app.config["KEYWIRE_LOG_FILTER"]:
            params = app.config["KEYWIRE_QUERY_PARAMS"]
            headers = [app.config["KEYWIRE_HEADER"]]
            install_filter(logging.getLogger("werkzeug"), params, headers)
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
        peppers = [pepper_bytes(config["KEYWIRE_PEPPER"])]
        fallbacks = config["KEYWIRE_PEPPER_FALLBACKS"] or ()
        if isinstance(fallbacks, (str, bytes)):
            fallbacks = (fallbacks,)
        peppers += [pepper_bytes(p, name="KEYWIRE_PEPPER_FALLBACKS") for p in fallbacks]
        return peppers

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
        needed = frozenset(scopes)

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
            return frozenset(config["KEYWIRE_DEFAULT_SCOPES"])
        return None

    def _before_request(self) -> None:
        scopes = self._endpoint_scopes()
        if request.method == "OPTIONS" and request.is_secure:
            scopes = None  # CORS preflights carry no credentials by design
        self._guard(scopes)

    def _guard(self, scopes: frozenset[str] | None) -> None:
        """Apply the policy to the current request; ``scopes`` None means an open endpoint."""
        config = current_app.config
        presented = _presented()
        if not request.is_secure:
            if presented.any or scopes is not None or config["KEYWIRE_REFUSE_CLEARTEXT"]:
                if config["KEYWIRE_REVOKE_ON_CLEARTEXT"]:
                    try:
                        self._revoke_cleartext(presented.header_keys + presented.query_keys)
                    except Exception:
                        # The answer over cleartext never changes, not even when revoking fails.
                        log.exception("could not revoke keys seen over cleartext")
                raise CleartextRefused()
            return
        if scopes is None:
            return
        realm = config["KEYWIRE_REALM"]
        if presented.query_keys:
            raise KeyInQueryString(realm=realm)
        keys = set(presented.header_keys)
        if not keys:
            raise KeyRequired(realm=realm)
        if len(keys) > 1:
            raise InvalidKey("Send one API key per request.", realm=realm)
        record = self.authenticate(keys.pop(), scopes=scopes)
        g.setdefault(_G_KEY, record)

    def authenticate(self, plaintext: str, *, scopes: Iterable[str] = ()) -> KeyRecord:
        """The record of a usable key with ``scopes``, or a typed HTTP error (401/403).

        Call it inside an application context; it records the key's last use.
        """
        config = current_app.config
        realm = config["KEYWIRE_REALM"]
        record = self._verify(plaintext)
        now = self.clock()
        if record is None:
            raise InvalidKey(realm=realm)
        if record.revoked_reason == CLEARTEXT_REASON or record.id in self._state().burned:
            raise KeyRevokedForCleartext(realm=realm)
        if not record.usable(now):
            raise InvalidKey(realm=realm)
        needed = frozenset(scopes)
        if not needed <= record.scopes:
            raise InsufficientScope(needed, realm=realm)
        try:
            self.store.touch(
                record.id, at=now, resolution_s=int(config["KEYWIRE_LAST_USED_RESOLUTION"])
            )
        except Exception:  # a failed bookkeeping write must not turn a valid key away
            log.warning("could not record the last use of key %s", record.id, exc_info=True)
        return record

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

    def _revoke_cleartext(self, candidates: Iterable[str]) -> None:
        """Revoke every valid key among ``candidates``: they crossed the network in the clear."""
        state = self._state()
        for candidate in dict.fromkeys(candidates):
            record = self._verify(candidate)
            if record is None or record.revoked_at is not None or record.id in state.burned:
                continue
            store = self.store
            if store.read_only:
                state.burned.add(record.id)
                audit(
                    "key.cleartext",
                    key_id=record.id,
                    level=logging.CRITICAL,
                    action="refused-until-restart",
                    remedy="remove this key from KEYWIRE_API_KEY_HASH and issue a new one",
                )
                continue
            if store.revoke(record.id, at=self.clock(), reason=CLEARTEXT_REASON):
                audit("key.revoked", key_id=record.id, reason=CLEARTEXT_REASON)

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
        expires_in: timedelta | None = None,
        prefix: str | None = None,
    ) -> tuple[str, KeyRecord]:
        """A new key and its record, *not stored* (see :meth:`create_key`)."""
        prefix = check_prefix(prefix or current_app.config["KEYWIRE_KEY_PREFIX"])
        if not name.strip():
            raise ValueError("a key needs a name")
        if expires_in is not None and expires_in <= timedelta(0):
            raise ValueError("expiry must be in the future")
        new = generate_key(prefix)
        now = self.clock()
        record = KeyRecord(
            id=new.key_id,
            name=name.strip(),
            prefix=prefix,
            digest=digest_key(new.plaintext, self._peppers()[0]),
            scopes=frozenset(s.strip() for s in scopes if s.strip()),
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        return new.plaintext, record

    def create_key(
        self,
        name: str,
        *,
        scopes: Iterable[str] = (),
        expires_in: timedelta | None = None,
        prefix: str | None = None,
    ) -> tuple[str, KeyRecord]:
        """Create and store a key; return ``(key, record)``. Show the key once, keep the record."""
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
        expires_in: timedelta | None = None,
    ) -> tuple[str, KeyRecord]:
        """Replace ``key_id`` with a new key; the old one keeps working for ``overlap``.

        Like ``SECRET_KEY_FALLBACKS``: during the overlap both keys are accepted, so clients can
        switch without downtime; afterwards the old one is expired. The new key keeps the name,
        scopes and prefix, and the old key's lifetime unless ``expires_in`` says otherwise.
        """
        if overlap < timedelta(0):
            raise ValueError("the overlap cannot be negative")
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
        if expires_in is None and old.expires_at is not None:
            expires_in = old.expires_at - old.created_at
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
