"""Checking a user's credential header before anything is sent.

A header value with a CR or LF would be refused by the HTTP library, whose error text quotes the
whole value, or worse, split the request. So keywire refuses such values itself, before any
traffic, with a message that names the header but never shows its value.

>>> check_credential_header("X-API-Key", "kw-live-0123456789")
>>> try:
...     check_credential_header("X-API-Key", "kw\\r\\nX-Evil: 1")
... except HeaderError as exc:
...     print(exc)
header X-API-Key: the value contains a line break (CR or LF); the value is not sent and not shown
"""

from __future__ import annotations

import re

#: RFC 9110 §5.6.2 token characters: what a header name is made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HeaderError(ValueError):
    """A credential header keywire will not send; the message never contains the value."""


def check_credential_header(name: str, value: str) -> None:
    """Raise :class:`HeaderError` unless ``name: value`` is a header keywire can send as is.

    The name must be an RFC 9110 token. The value must be non-empty printable ASCII (spaces and
    tabs allowed inside): no CR or LF, no other control character, nothing beyond ASCII (HTTP
    libraries encode header values as ASCII or Latin-1, and a credential never needs more).
    """
    if not _TOKEN.fullmatch(name):
        # The name is not shown either: a mistyped header may hold the credential.
        raise HeaderError(
            "a header name is letters, digits and !#$%&'*+-.^_`|~ only (the header is not shown)"
        )
    if not value.strip():
        raise HeaderError(f"header {name}: the value is empty")
    if "\r" in value or "\n" in value:
        problem = "a line break (CR or LF)"
    elif any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        problem = "a control character"
    elif not value.isascii():
        problem = "a character outside printable ASCII"
    else:
        return
    raise HeaderError(
        f"header {name}: the value contains {problem}; the value is not sent and not shown"
    )
