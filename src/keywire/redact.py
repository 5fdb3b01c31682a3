"""Redaction of secrets at the place they are captured.

A secret keywire sees (a key in a response body, a cookie value, a user's own header) is turned into
a :class:`Redacted` value before it goes anywhere else: a short prefix, the last four characters and a
SHA-256 fingerprint. The raw value never reaches findings, logs or reports.

>>> str(redact("sk_live_" + "0123456789abcdefABCDEFGH"))
'sk_liv…EFGH (sha256:a3cdd5e8…)'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_PREFIX_CHARS = 6
_SUFFIX_CHARS = 4


@dataclass(frozen=True, kw_only=True)
class Redacted:
    """A secret reduced to what is safe to show."""

    prefix: str
    suffix: str
    length: int
    sha256: str

    def __str__(self) -> str:
        if not self.prefix and not self.suffix:
            return f"[{self.length} chars] (sha256:{self.sha256[:8]}…)"
        return f"{self.prefix}…{self.suffix} (sha256:{self.sha256[:8]}…)"


def redact(secret: str, *, prefix_chars: int = _PREFIX_CHARS) -> Redacted:
    """Reduce ``secret`` to a prefix, its last 4 characters and a SHA-256 fingerprint.

    Short secrets keep less: a value of 12 characters or fewer shows no characters at all, so that
    prefix and suffix together never reveal more than half of it.
    """
    digest = hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()
    n = len(secret)
    if n <= 12:
        return Redacted(prefix="", suffix="", length=n, sha256=digest)
    shown_prefix = min(prefix_chars, n // 2 - _SUFFIX_CHARS)
    return Redacted(
        prefix=secret[: max(shown_prefix, 0)],
        suffix=secret[-_SUFFIX_CHARS:],
        length=n,
        sha256=digest,
    )


_QUERY_VALUE = re.compile(r"([?&;][^=&#;]+=)([^&#;]*)")


def redact_url(url: str) -> str:
    """Redact every query-string value of ``url`` and any userinfo part.

    >>> redact_url("https://u:p@api.example/x?api_key=abcdefghijklmnop&page=2")
    'https://[redacted]@api.example/x?api_key=[redacted]&page=[redacted]'
    """
    url = re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@?#]*@", r"\1[redacted]@", url)
    return _QUERY_VALUE.sub(lambda m: m.group(1) + ("[redacted]" if m.group(2) else ""), url)
