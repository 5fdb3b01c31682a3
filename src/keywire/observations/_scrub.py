"""What an observation may keep: secrets, the user's credentials and the canary go at capture.

Every observation passes through here before its check judges it, whether or not it is saved:

- **the canary** (``kw_canary_`` + 32 hex digits, random per scan) becomes :data:`CANARY`, the
  same length, wherever it was echoed; the check is told the same (comparisons that remove the
  canary remove it just as well), and no file ties two scans together through it;
- **the user's header values** (``--header``) are hidden as :func:`keywire.redact.scrub` hides
  them in reports, in strings and bodies alike;
- **secrets of a known format** (the catalogue behind KW701-KW706) are replaced: in strings by
  their redacted form, as reports show them; in bodies by a mask of the same length that keeps
  what redaction shows (a short prefix, the last 4 characters), so sizes and comparisons hold;
- **cookie values** in ``Set-Cookie`` are reduced to their redacted form (the families that
  judge cookies and tokens extracted what they need in their probes);
- **bodies** are kept to their first :data:`KEPT_BODY` bytes (all any check compares), and the
  answer to the request that carried the user's credentials keeps no body at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..checks._base import CANARY_PREFIX
from ..checks._compare import COMPARED_BYTES
from ..net.models import HttpResponse
from ..redact import redact, scrub, scrub_bytes

#: What replaces the scan's canary: marked as one, the same length, never random.
CANARY = CANARY_PREFIX + "x" * 32
#: Bytes of a body an observation keeps (the checks compare at most this much).
KEPT_BODY = COMPARED_BYTES
_BODY_CACHE = 64


class Scrubber:
    """The scrubbing of one scan (its canary, the user's credentials)."""

    def __init__(self, *, canary: str = "", credentials: Sequence[str] = ()) -> None:
        self.canary = canary
        self.credentials = tuple(c for c in credentials if c)
        self._bodies: dict[bytes, bytes] = {}

    def text(self, value: str) -> str:
        """``value`` without the canary or the user's credentials (secrets: :meth:`secrets`)."""
        if self.canary and self.canary in value:
            value = value.replace(self.canary, CANARY)
        if self.credentials:
            value = scrub(value, self.credentials)
        return value

    def response(self, response: HttpResponse) -> HttpResponse:
        """``response`` as an observation keeps it (see the module docstring)."""
        headers = tuple(
            (name, _cookie(value) if name.lower() == "set-cookie" else value)
            for name, value in response.headers
        )
        body, truncated = response.body, response.body_truncated
        if response.sent_credentials:
            body, truncated = b"", truncated or bool(body)
        elif len(body) > KEPT_BODY:
            body, truncated = body[:KEPT_BODY], True
        return dataclasses.replace(
            response, headers=headers, body=self.body(body), body_truncated=truncated
        )

    def body(self, data: bytes) -> bytes:
        """``data`` without the canary, the user's credentials or a secret of a known format."""
        if not data:
            return data
        known = self._bodies.get(data)
        if known is not None:  # the same answer to several probes is scrubbed once
            return known
        cleaned = data
        if self.canary:
            cleaned = cleaned.replace(self.canary.encode(), CANARY.encode())
            cleaned = _cut_canary(cleaned, self.canary)
        if self.credentials:
            cleaned = scrub_bytes(cleaned, self.credentials)
        cleaned = mask_secrets(cleaned)
        if len(self._bodies) >= _BODY_CACHE:
            self._bodies.clear()
        self._bodies[data] = cleaned
        return cleaned


def mask_secrets(data: bytes) -> bytes:
    """``data`` with each known-format secret masked in place (same length, prefix and last 4
    kept as redaction shows them).

    >>> mask_secrets(b'{"key": "sk_live_' + b'0123456789abcdefABCDEFGH"}')
    b'{"key": "sk_liv**********************EFGH"}'
    """
    from ..secrets.scanner import secret_values

    for value in secret_values(data.decode("utf-8", "replace")):
        raw = value.encode("utf-8")
        if raw not in data:
            continue  # next to bytes that are not UTF-8: the decoded text differs
        shown = redact(value)
        prefix, suffix = shown.prefix.encode(), shown.suffix.encode()
        hidden = len(raw) - len(prefix) - len(suffix)
        mask = prefix + b"*" * hidden + suffix if hidden > 0 else b"*" * len(raw)
        data = data.replace(raw, mask)
    return data


def mask_secret_strings(strings: Sequence[str]) -> dict[str, str]:
    """The known-format secrets in ``strings`` (one detector pass), each raw value → its
    redacted form."""
    from ..secrets.scanner import secret_values

    if not strings:
        return {}
    return {raw: str(redact(raw)) for raw in secret_values("\x00".join(strings))}


def _cookie(value: str) -> str:
    """A ``Set-Cookie`` value with the cookie's value redacted (name and attributes kept)."""
    first, sep, rest = value.partition(";")
    name, eq, cookie = first.partition("=")
    if not eq or not cookie.strip():
        return value
    return f"{name}={redact(cookie.strip())}{sep}{rest}"


def _cut_canary(data: bytes, canary: str) -> bytes:
    """A start of the canary that ends ``data`` (a body cut at the cap) becomes :data:`CANARY`'s."""
    raw = canary.encode()
    for n in range(min(len(raw) - 1, len(data)), len(CANARY_PREFIX), -1):
        if data.endswith(raw[:n]):
            return data[:-n] + CANARY.encode()[:n]
    return data


__all__ = ["CANARY", "KEPT_BODY", "Scrubber", "mask_secret_strings", "mask_secrets"]
