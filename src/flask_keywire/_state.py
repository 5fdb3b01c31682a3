"""flask_keywire's per-application state, the proxy handling and the key store's construction."""

from __future__ import annotations

import threading
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

from ._config import proxy_hops
from ._pending import PendingRevocations, Reconciler
from ._sqlite import SQLiteKeyStore
from ._store import KeyStore, StaticKeyStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ._extension import KeyWire


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class State:
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


class TrustedProxies:
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


def build_store(spec: object) -> KeyStore:
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
