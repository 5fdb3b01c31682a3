"""flask_keywire: API-key authentication for Flask that keywire grades A.

It follows the IETF HTTP API credential-protection BCP (draft-ietf-httpapi-privacy):

* credentials over cleartext HTTP get **403**, with one body whether the key was valid or not,
  and a valid key seen there is **revoked** (an audit event names its id, never the key);
* keys are read from headers only (``Authorization: Bearer`` or ``X-API-Key``), never the URL;
* keys are random (256 bits), recognisable when leaked (prefix and CRC32 checksum), stored as
  HMAC-SHA256 with a server-side pepper, compared in constant time, scoped, expiring and
  rotatable with an overlap window;
* HTTPS responses carry HSTS, authenticated ones ``Cache-Control: no-store``, 401s
  ``WWW-Authenticate: Bearer``; keys are filtered out of logs.

>>> from flask import Flask
>>> from flask_keywire import KeyWire
>>> app = Flask(__name__)
>>> app.config["KEYWIRE_PEPPER"] = "a server-side secret of at least 32 bytes!"
>>> keywire = KeyWire(app)
>>> @app.get("/v1/resource")
... @keywire.required(scopes=["read"])
... def resource():
...     return {"data": "..."}

The documentation is ``docs/flask_keywire.md``.
"""

from ._config import DEFAULTS
from ._errors import (
    CleartextRefused,
    ConfigurationError,
    InsufficientScope,
    InvalidKey,
    KeyInQueryString,
    KeyRequired,
    KeyRevokedForCleartext,
    KeyStoreUnavailable,
    KeyWireError,
)
from ._extension import KeyWire, current_key
from ._keys import MalformedKey, NewKey, ParsedKey, generate_key, looks_like_key, parse_key
from ._logging import KeyRedactingFilter
from ._sqlalchemy import SQLAlchemyKeyStore
from ._sqlite import SQLiteKeyStore
from ._store import KeyRecord, KeyStore, ReadOnlyStoreError, StaticKeyStore, hash_line
from .tls import server_context

__all__ = [
    "DEFAULTS",
    "CleartextRefused",
    "ConfigurationError",
    "InsufficientScope",
    "InvalidKey",
    "KeyInQueryString",
    "KeyRecord",
    "KeyRedactingFilter",
    "KeyRequired",
    "KeyRevokedForCleartext",
    "KeyStore",
    "KeyStoreUnavailable",
    "KeyWire",
    "KeyWireError",
    "MalformedKey",
    "NewKey",
    "ParsedKey",
    "ReadOnlyStoreError",
    "SQLAlchemyKeyStore",
    "SQLiteKeyStore",
    "StaticKeyStore",
    "current_key",
    "generate_key",
    "hash_line",
    "looks_like_key",
    "parse_key",
    "server_context",
]
