"""The flask_keywire key format, and nothing else: small, stdlib only, cheap to import.

A key reads ``<prefix>_<id>_<secret><checksum>``::

    kw_live_4Qm0c2Xr9LbT_0fJ3k…(43 characters of secret)…Zq81aB
    └─────┘ └──────────┘ └──────────────────────────────┘└────┘
    prefix  id (12)      secret: 256 bits in base62 (43)   CRC32 in base62 (6)

The checksum is CRC32 of everything before it, in base62 (GitHub's scheme for its tokens): public,
so it proves nothing about a key's validity, but it makes a key recognisable offline with almost no
false positives. Two users build on this module: :mod:`flask_keywire` (which issues, parses and
looks for keys) and keywire's secret catalogue (which reports a key found in a response, KW701).
Neither the scanner nor Flask is imported here, so a Flask application pays only for this.

>>> body = "kw_test_" + "A" * ID_LENGTH + "_" + "b" * SECRET_LENGTH
>>> key = body + key_checksum(body)
>>> key_checksum_ok(key), split_key(key)
(True, ('kw_test', 'AAAAAAAAAAAA'))
>>> find_keys("GET /v1?api_key=" + key + ",&page=2") == [key]
True
"""

from __future__ import annotations

import re
import secrets
import zlib

__all__ = [
    "BASE62",
    "CHECKSUM_LENGTH",
    "ID_LENGTH",
    "KEY_LENGTH_RANGE",
    "KEY_TAIL",
    "KEY_TAIL_PATTERN",
    "PREFIX_PATTERN",
    "SECRET_BYTES",
    "SECRET_LENGTH",
    "base62_encode",
    "find_keys",
    "key_checksum",
    "key_checksum_ok",
    "new_key",
    "split_key",
]

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 12
SECRET_LENGTH = 43  # 62**43 > 2**256: every 256-bit value fits
CHECKSUM_LENGTH = 6
SECRET_BYTES = 32
_PREFIX_MAX = 16 + 3 * 16  # four parts of at most 16 characters, joined by "_"

#: A key prefix: lowercase letters and digits, up to four parts joined by ``_`` (``kw_live``).
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9]{0,15}(?:_[a-z0-9]{1,15}){0,3}")

#: The fixed-shape end of a key, ``_<id>_<secret><checksum>`` (a pattern without groups).
KEY_TAIL_PATTERN = rf"_[0-9A-Za-z]{{{ID_LENGTH}}}_[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}"
#: The same, compiled, with the id as group ``id``. It needs no boundary on either side: what
#: decides whether a key is there is the checksum (see :func:`find_keys`).
KEY_TAIL = re.compile(
    rf"_(?P<id>[0-9A-Za-z]{{{ID_LENGTH}}})_[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}"
)
_TAIL_LENGTH = 1 + ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
#: Shortest and longest possible key.
KEY_LENGTH_RANGE = (1 + _TAIL_LENGTH, _PREFIX_MAX + _TAIL_LENGTH)

# Overlapping tails: a zero-width match at every position where a tail starts.
_TAIL_AT = re.compile(rf"(?=({KEY_TAIL_PATTERN}))")
_PREFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_BODY = re.compile(rf"[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}")
_ID = re.compile(rf"[0-9A-Za-z]{{{ID_LENGTH}}}")


def base62_encode(number: int, width: int) -> str:
    """``number`` in base62 (``0-9A-Za-z``), left-padded with ``0`` to ``width`` characters."""
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def key_checksum(body: str) -> str:
    """The checksum of ``<prefix>_<id>_<secret>``: base62(CRC32), 6 characters."""
    return base62_encode(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def key_checksum_ok(token: str) -> bool:
    """True if ``token`` ends with the checksum of everything before it."""
    body, checksum = token[:-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    if not body or len(checksum) != CHECKSUM_LENGTH or not checksum.isascii():
        return False
    try:
        expected = _base62_decode(checksum)
    except KeyError:  # not base62
        return False
    return zlib.crc32(body.encode()) == expected


def split_key(text: str) -> tuple[str, str] | None:
    """``(prefix, id)`` of a well-formed key (shape and checksum), or None for anything else."""
    if not KEY_LENGTH_RANGE[0] <= len(text) <= KEY_LENGTH_RANGE[1]:
        return None
    head, sep, body = text.rpartition("_")
    prefix, sep2, key_id = head.rpartition("_")
    if not (sep and sep2 and PREFIX_PATTERN.fullmatch(prefix) and _ID.fullmatch(key_id)):
        return None
    if not _BODY.fullmatch(body) or not key_checksum_ok(text):
        return None
    return prefix, key_id


def new_key(prefix: str) -> tuple[str, str]:
    """A new ``(key, id)`` with a random id and a 256-bit secret from :mod:`secrets`."""
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError(f"not a key prefix: {prefix!r}")
    key_id = "".join(secrets.choice(BASE62) for _ in range(ID_LENGTH))
    secret = base62_encode(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"), SECRET_LENGTH)
    body = f"{prefix}_{key_id}_{secret}"
    return body + key_checksum(body), key_id


def find_keys(text: str, *, limit: int = 64) -> list[str]:
    """Every well-formed key inside ``text`` (at most ``limit``, in order, without repeats).

    No boundary is needed around a key: ``xkw_live_…`` or ``…<checksum>abc`` still yield the key,
    because the checksum says exactly where it starts and ends. The work is linear in the text:
    each tail is tried with the prefixes that end where it starts (at most 64 characters back),
    one CRC32 each, and the pattern is checked only when the checksum matches.
    """
    found: dict[str, None] = {}
    for match in _TAIL_AT.finditer(text):
        tail = match.group(1)
        expected = _base62_decode(tail[-CHECKSUM_LENGTH:])
        if expected > 0xFFFFFFFF:
            continue
        tail_body = tail[:-CHECKSUM_LENGTH].encode()
        end = match.start()
        start = end
        while start > 0 and end - start < _PREFIX_MAX and text[start - 1] in _PREFIX_CHARS:
            start -= 1
        for begin in range(start, end):
            if text[begin] not in _LOWER:
                continue
            prefix = text[begin:end]
            if zlib.crc32(tail_body, zlib.crc32(prefix.encode())) == expected and (
                PREFIX_PATTERN.fullmatch(prefix)
            ):
                found[prefix + tail] = None
                break
        if len(found) >= limit:
            break
    return list(found)


_BASE62_VALUE = {c: i for i, c in enumerate(BASE62)}


def _base62_decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 62 + _BASE62_VALUE[char]
    return value
