"""The seed's API fixed with flask_keywire: the A end of ``keywire demo``'s F → A.

The same endpoint as :mod:`keywire.lab.seed` (``GET /v1/resource``), with each of the seed's
remediation snippets replaced by what flask_keywire does:

* ``enforce_https`` redirect → a 403 on the cleartext side, the same for every request (valid key,
  invalid key or none), and revocation of a valid key that arrived there;
* ``api_key != API_KEY`` → HMAC-SHA256 digests with a pepper, compared with ``hmac.compare_digest``;
* a decorator without ``functools.wraps`` → ``@keywire.required(scopes=[...])``;
* one static key in the code → generated keys with ids, scopes, expiry, revocation and rotation.

Serve it with :func:`flask_keywire.server_context` (TLS 1.2+, ECDHE with AEAD only); the
cleartext side is the same app on a plain socket, which refuses everything with 403.
``examples/hardened_app.py`` runs it by hand.
"""

from __future__ import annotations

from typing import Any


def create_hardened_app(*, store: Any, pepper: str) -> Any:
    """The hardened API; ``store`` is a ``flask_keywire.KeyStore`` or a database URL."""
    from flask import Flask

    from flask_keywire import KeyWire, current_key

    app = Flask("keywire_hardened")
    app.config.update(
        KEYWIRE_PEPPER=pepper,
        KEYWIRE_STORE=store,
        KEYWIRE_KEY_PREFIX="kw_live",
        # The defaults, spelled out: refuse every cleartext request, revoke keys seen there.
        KEYWIRE_REFUSE_CLEARTEXT=True,
        KEYWIRE_REVOKE_ON_CLEARTEXT=True,
        PREFERRED_URL_SCHEME="https",
    )
    keywire = KeyWire(app)

    @app.get("/v1/resource")
    @keywire.required(scopes=["read"])
    def resource() -> Any:
        key = current_key()
        return {"data": "sensitive resource", "owner": key.name if key else None}

    return app
