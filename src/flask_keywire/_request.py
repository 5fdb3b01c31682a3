"""What a request presents as credentials, read where clients are told to put them.

The WSGI environment holds one value per header name: every server joins repeated headers with
commas (werkzeug, gunicorn: ``KEY,KEY``), so every comma-separated part counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from keywire.keyformat import find_keys


@dataclass(frozen=True)
class Presented:
    """The credentials one request carries where clients are told to put them."""

    header_keys: tuple[str, ...]  # values from Authorization: Bearer and the key header
    query_keys: tuple[str, ...]  # values of key-like query parameters, or values holding a key
    other: bool  # any other credential-bearing header (Basic, Token, Proxy-Authorization, ...)

    @property
    def any(self) -> bool:
        return bool(self.header_keys or self.query_keys or self.other)


def _split(value: str) -> list[str]:
    """The comma-separated parts of a header value: servers join repeated headers with commas."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def credentials_presented() -> Presented:
    config = current_app.config
    # The WSGI environment holds one value per header name: every server joins repeated headers
    # with commas (werkzeug, gunicorn: "KEY,KEY"), so every comma-separated part counts.
    environ = request.environ
    header_keys: list[str] = []
    other = False
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        for part in _split(authorization) or [""]:
            scheme, _, token = part.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                header_keys.append(token.strip())
            elif scheme and not token and "=" not in scheme:
                header_keys.append(scheme)  # "Bearer K1,K2": K2 is a second key
            else:
                other = True
    header_value = environ.get(_environ_key(config["KEYWIRE_HEADER"]))
    if header_value is not None:
        header_keys.extend(_split(header_value) or [header_value.strip()])
    if "HTTP_PROXY_AUTHORIZATION" in environ:
        other = True
    query_keys: list[str] = []
    if environ.get("QUERY_STRING"):
        names = {n.lower() for n in config["KEYWIRE_QUERY_PARAMS"]}
        query_keys = [
            value
            for name, value in request.args.items(multi=True)
            if name.lower() in names or find_keys(value, limit=1) or find_keys(name, limit=1)
        ]
    return Presented(header_keys=tuple(header_keys), query_keys=tuple(query_keys), other=other)


def may_have_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()
