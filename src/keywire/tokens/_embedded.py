"""Timestamps embedded anywhere in a token: decimal, hex, or in its base64-decoded bytes (part of
the structural analysis; the identifier formats are :mod:`keywire.tokens._formats`)."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence

from .._dataclass import dataclass
from ._formats import TimeWindow, bits_of_time

# Embedded timestamps: (encoding, width in characters or bytes, unit in seconds).
_DECIMAL_STAMPS = ((10, 1.0, "Unix seconds"), (13, 1e-3, "Unix ms"), (16, 1e-6, "Unix µs"))
_HEX_STAMPS = ((8, 1.0, "Unix seconds"), (11, 1e-3, "Unix ms"), (13, 1e-6, "Unix µs"))
_BYTE_STAMPS = (
    (4, "big", 1.0, "Unix seconds"),
    (4, "little", 1.0, "Unix seconds"),
    (6, "big", 1e-3, "Unix ms"),
    (8, "big", 1.0, "Unix seconds"),
    (8, "little", 1.0, "Unix seconds"),
    (8, "big", 1e-3, "Unix ms"),
    (8, "little", 1e-3, "Unix ms"),
)


@dataclass(frozen=True, kw_only=True)
class EmbeddedTime:
    """A timestamp found at the same place in every token."""

    encoding: str
    start: int  # character offset, or byte offset when ``encoding`` ends in "bytes"
    width: int
    unit_s: float
    unit: str
    first: float

    @property
    def bits(self) -> float:
        per = {"decimal": math.log2(10), "hex": 4.0}.get(self.encoding, 8.0)
        return self.width * per

    @property
    def unpredictable(self) -> float:
        return bits_of_time(self.unit_s)


def decoded_bytes(token: str) -> bytes | None:
    """The bytes a base64/base64url token encodes, or None."""
    text = token.rstrip("=")
    if len(text) < 8 or len(text) % 4 == 1:
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def find_embedded_time(tokens: Sequence[str], window: TimeWindow) -> EmbeddedTime | None:
    """A timestamp near the sampling time at one fixed place in every token, if any.

    Decimal and hex digits are searched in the tokens as written; base64 tokens are also decoded
    and their bytes searched for 4-, 6- and 8-byte integers and for ASCII decimal timestamps.
    """
    if not tokens:
        return None
    length = len(tokens[0])
    same_length = all(len(t) == length for t in tokens)
    if same_length:
        for width, unit_s, unit in _DECIMAL_STAMPS:
            for start in range(length - width + 1):
                if _all_near(tokens, start, width, 10, unit_s, window):
                    return _found("decimal", start, width, unit_s, unit, tokens, 10)
        for width, unit_s, unit in _HEX_STAMPS:
            for start in range(length - width + 1):
                if _all_near(tokens, start, width, 16, unit_s, window):
                    return _found("hex", start, width, unit_s, unit, tokens, 16)
    decoded = [decoded_bytes(t) for t in tokens]
    if all(d is not None for d in decoded):
        blobs = [d for d in decoded if d is not None]
        size = len(blobs[0])
        if all(len(b) == size for b in blobs):
            for width, order, unit_s, unit in _BYTE_STAMPS:
                for start in range(size - width + 1):
                    stamps = [
                        int.from_bytes(b[start : start + width], order) * unit_s  # type: ignore[arg-type]
                        for b in blobs
                    ]
                    if all(s in window for s in stamps):
                        return EmbeddedTime(
                            encoding=f"{order}-endian bytes",
                            start=start,
                            width=width,
                            unit_s=unit_s,
                            unit=unit,
                            first=min(stamps),
                        )
            texts = [b.decode("latin-1") for b in blobs]
            for width, unit_s, unit in _DECIMAL_STAMPS:
                for start in range(size - width + 1):
                    if _all_near(texts, start, width, 10, unit_s, window):
                        found = _found("decimal", start, width, unit_s, unit, texts, 10)
                        return EmbeddedTime(
                            encoding="ASCII digits in decoded bytes",
                            start=start,
                            width=width,
                            unit_s=unit_s,
                            unit=unit,
                            first=found.first,
                        )
    return None


def _all_near(
    tokens: Sequence[str], start: int, width: int, base: int, unit_s: float, window: TimeWindow
) -> bool:
    allowed = _DIGITS if base == 10 else _HEXDIGITS
    for token in tokens:
        chunk = token[start : start + width]
        if len(chunk) != width or not set(chunk) <= allowed:
            return False
        if int(chunk, base) * unit_s not in window:
            return False
    return True


_DIGITS = frozenset("0123456789")
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def _found(
    encoding: str,
    start: int,
    width: int,
    unit_s: float,
    unit: str,
    tokens: Sequence[str],
    base: int,
) -> EmbeddedTime:
    first = min(int(t[start : start + width], base) * unit_s for t in tokens)
    return EmbeddedTime(
        encoding=encoding, start=start, width=width, unit_s=unit_s, unit=unit, first=first
    )
