"""API keys: their format, their generation, and how they are hashed and checked.

A key reads ``<prefix>_<id>_<secret><checksum>``::

    kw_live_4Qm0c2Xr9LbT_0fJ3k…(43 characters of secret)…Zq81aB
    └─────┘ └──────────┘ └──────────────────────────────┘└────┘
    prefix  id (12)      secret: 256 bits in base62 (43)   CRC32 in base62 (6)

* The **prefix** says what the key is for (``kw_live``, ``kw_test``); it is configurable.
* The **id** is random, not secret, and is how a key is looked up (and named in audit logs).
* The **secret** is 256 bits from :mod:`secrets`.
* The **checksum** (CRC32 of everything before it, in base62, GitHub's scheme) lets a scanner
  recognise a leaked key offline with almost no false positives; ``keywire scan`` does (KW701).

The server stores only ``HMAC-SHA256(pepper, key)``: a database dump without the pepper does not
yield a usable key, and a pepper can be rotated like Flask's ``SECRET_KEY_FALLBACKS``.

>>> key = generate_key("kw_test")
>>> parse_key(key.plaintext).key_id == key.key_id
True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from keywire.keyformat import (
    CHECKSUM_LENGTH,
    ID_LENGTH,
    PREFIX_PATTERN,
    SECRET_BYTES,
    SECRET_LENGTH,
    new_key,
    split_key,
)

from ._errors import ConfigurationError

__all__ = [
    "CHECKSUM_LENGTH",
    "ID_LENGTH",
    "MIN_PEPPER_BYTES",
    "PREFIX_PATTERN",
    "SECRET_BYTES",
    "SECRET_LENGTH",
    "MalformedKey",
    "NewKey",
    "ParsedKey",
    "check_prefix",
    "digest_key",
    "generate_key",
    "looks_like_key",
    "match_digest",
    "parse_key",
    "pepper_bytes",
]

MIN_PEPPER_BYTES = 32


class MalformedKey(ValueError):
    """A string that is not a well-formed key (shape or checksum)."""


@dataclass(frozen=True, kw_only=True)
class ParsedKey:
    """A key split into its parts; ``plaintext`` is the whole key and never printed by repr."""

    prefix: str
    key_id: str
    plaintext: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class NewKey:
    """A freshly generated key. ``plaintext`` is shown once to its owner, then forgotten."""

    prefix: str
    key_id: str
    plaintext: str = field(repr=False)


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is usable (lowercase words joined by ``_``), else raise ValueError."""
    if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(
            f"key prefix {prefix!r} must be lowercase letters and digits in up to four parts "
            "joined by '_' (for example 'kw_live')"
        )
    return prefix


def generate_key(prefix: str = "kw_live") -> NewKey:
    """A new key with a random id and a 256-bit secret.

    >>> generate_key("kw_live").plaintext.startswith("kw_live_")
    True
    """
    plaintext, key_id = new_key(check_prefix(prefix))
    return NewKey(prefix=prefix, key_id=key_id, plaintext=plaintext)


def parse_key(text: str) -> ParsedKey:
    """Split a key into prefix and id after checking its shape and checksum.

    Raises :class:`MalformedKey` for anything else. The checksum is public (CRC32), so failing
    early here tells an attacker nothing a scanner could not compute offline.
    """
    parts = split_key(text)
    if parts is None:
        raise MalformedKey("not a key")
    return ParsedKey(prefix=parts[0], key_id=parts[1], plaintext=text)


def looks_like_key(text: str) -> bool:
    """True if ``text`` is a well-formed key (shape and checksum), whatever its prefix."""
    return split_key(text) is not None


def pepper_bytes(pepper: object, *, name: str = "KEYWIRE_PEPPER") -> bytes:
    """The pepper as bytes; refuse a missing, empty, short or mistyped one with an explanation."""
    how = (
        "Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` and "
        "load it from the environment or a secret store (never commit it)."
    )
    if pepper is None or pepper in ("", b""):
        raise ConfigurationError(
            f"{name} is not set: flask_keywire stores keys as HMAC-SHA256 with a server-side "
            f"pepper. {how}"
        )
    if not isinstance(pepper, (str, bytes)):
        raise ConfigurationError(f"{name} must be a string, not {type(pepper).__name__}. {how}")
    raw = pepper.encode() if isinstance(pepper, str) else bytes(pepper)
    if len(raw) < MIN_PEPPER_BYTES:
        raise ConfigurationError(
            f"{name} is {len(raw)} bytes long; it must be at least {MIN_PEPPER_BYTES}. {how}"
        )
    return raw


def digest_key(plaintext: str, pepper: bytes) -> str:
    """``HMAC-SHA256(pepper, key)`` as lowercase hex: the only form of a key that is stored."""
    return hmac.new(pepper, plaintext.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, kw_only=True)
class DigestMatch:
    """Result of :func:`match_digest`: did the key match, and with which pepper."""

    matched: bool
    pepper_index: int  # 0 = the current pepper, n = KEYWIRE_PEPPER_FALLBACKS[n-1]; -1 = none


# Compared against when a key id is unknown, so an unknown id costs the same work as a known one.
_DECOY_DIGEST = secrets.token_hex(32)


def match_digest(plaintext: str, stored: str | None, peppers: Sequence[bytes]) -> DigestMatch:
    """Check ``plaintext`` against ``stored`` with every pepper, in constant time.

    The work does not depend on the outcome: the HMAC is computed and
    :func:`hmac.compare_digest` called once per pepper, for known and unknown ids alike (an unknown
    id is compared against a random decoy), and no comparison stops early.
    """
    expected = (stored if stored is not None else _DECOY_DIGEST).encode()
    index = -1
    for position, pepper in enumerate(peppers):
        candidate = digest_key(plaintext, pepper).encode()
        if hmac.compare_digest(candidate, expected) and index < 0:
            index = position
    return DigestMatch(matched=stored is not None and index >= 0, pepper_index=index)
