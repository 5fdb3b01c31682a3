"""The HTTP errors flask_keywire raises, each a typed :class:`~werkzeug.exceptions.HTTPException`.

::

    KeyWireError
    ├── CleartextRefused     403  request over cleartext HTTP (same answer whatever it carried)
    ├── KeyRequired          401  no key, or a key only in the URL (never read from there)
    │   └── KeyInQueryString 401  the same answer, typed apart for error handlers and logs
    ├── InvalidKey           401  unknown, malformed, expired or revoked key
    │   └── KeyRevokedForCleartext  401  the key was revoked because it travelled in cleartext
    ├── InsufficientScope    403  valid key without the scopes the endpoint needs
    └── KeyStoreUnavailable  503  the key could not be checked (store locked or down, bad config)

Register an error handler for any of them to change the body; keep the status codes, and for
:class:`CleartextRefused` keep the body independent of the request (the BCP requires it).

:class:`ConfigurationError` is not an HTTP error: it stops an application whose configuration
cannot work (a missing or short pepper) before it serves anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click
from werkzeug.exceptions import HTTPException


class ConfigurationError(click.ClickException, RuntimeError):
    """flask_keywire cannot work with this configuration; the message says what to change.

    Raised by ``KeyWire(app)``/``init_app`` so that an application with, say, no pepper never
    starts serving. It is a :class:`RuntimeError`, and also a :class:`click.ClickException`: the
    Flask command line (``flask run``, ``flask keywire ...``) loads the application inside click,
    which then prints this one line instead of a traceback.
    """

    exit_code = 2


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class KeyWireError(HTTPException):
    """Base class: a JSON body ``{"error": ..., "message": ...}`` and ``Cache-Control: no-store``."""

    code = 400
    error = "keywire_error"
    description = "The request was refused."

    def __init__(self, description: str | None = None, *, realm: str = "api") -> None:
        super().__init__(description)
        self.realm = realm

    def payload(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.description}

    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` value, if this error carries one."""
        return None

    def get_body(
        self,
        environ: Any = None,
        scope: dict[str, Any] | None = None,
    ) -> str:
        return json.dumps(self.payload(), sort_keys=True) + "\n"

    def get_headers(
        self,
        environ: Any = None,
        scope: dict[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
        ]
        challenge = self.challenge()
        if challenge is not None:
            headers.append(("WWW-Authenticate", challenge))
        return headers


class CleartextRefused(KeyWireError):
    """403 for any request the extension refuses over cleartext HTTP.

    The body is a constant: it must not tell a valid key from an invalid one (or from none).
    """

    code = 403
    error = "https_required"
    description = (
        "This API is served over HTTPS only. Requests over cleartext HTTP are refused, and any "
        "API key sent with one must be treated as compromised: it has been revoked if it was valid."
    )


class KeyRequired(KeyWireError):
    """401: the request carries no key where keys are read (Authorization or the key header)."""

    code = 401
    error = "unauthorized"
    description = (
        "An API key is required: send it in the Authorization header (Bearer) or in X-API-Key. "
        "Keys in the URL are never accepted."
    )

    def challenge(self) -> str:
        return f"Bearer realm={_quote(self.realm)}"


class KeyInQueryString(KeyRequired):
    """401, byte for byte the answer to a request without a key: a key in the URL is not read.

    Answering differently (400, say) would show that the parameter was looked at; answering the
    same keeps the URL out of the authentication path entirely.
    """


class InvalidKey(KeyWireError):
    """401: the key is unknown, malformed, expired or revoked."""

    code = 401
    error = "invalid_token"
    description = "The API key is invalid, expired or revoked."

    def challenge(self) -> str:
        return (
            f'Bearer realm={_quote(self.realm)}, error="invalid_token", '
            f'error_description="the API key is invalid, expired or revoked"'
        )


class KeyRevokedForCleartext(InvalidKey):
    """401 over HTTPS for a key that was revoked after it arrived over cleartext.

    The BCP allows telling the owner why, once they are back on a secure channel.
    """

    description = (
        "This API key was revoked because it was sent over cleartext HTTP, where anyone on the "
        "network path could read it. Create a new key and use https:// only."
    )


class InsufficientScope(KeyWireError):
    """403: a valid key without every scope the endpoint requires (RFC 6750 §3.1)."""

    code = 403
    error = "insufficient_scope"
    description = "The API key does not have the scopes this endpoint requires."

    def __init__(self, scopes: Iterable[str] = (), *, realm: str = "api") -> None:
        super().__init__(realm=realm)
        self.scopes = tuple(sorted(scopes))

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "required_scopes": list(self.scopes)}

    def challenge(self) -> str:
        return (
            f'Bearer realm={_quote(self.realm)}, error="insufficient_scope", '
            f"scope={_quote(' '.join(self.scopes))}"
        )


class KeyStoreUnavailable(KeyWireError):
    """503: the key could not be checked now (the store is locked or down, or misconfigured).

    The request is refused, never let through: an error while checking a key fails closed. The
    cause is logged on the ``flask_keywire`` logger (keys redacted).
    """

    code = 503
    error = "temporarily_unavailable"
    description = "API keys cannot be checked right now. Try again shortly."
    retry_after_s = 5

    def get_headers(
        self,
        environ: Any = None,
        scope: dict[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.retry_after_s))]
