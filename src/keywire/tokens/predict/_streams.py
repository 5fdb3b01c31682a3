"""Tokens read back as the integers a generator produced, in every encoding worth trying.

A generator's output reaches a token through an encoding: ``str(n)``, ``format(n, "x")``,
``bytes.hex()`` of little-endian bytes (``random.randbytes``), base64 of raw bytes, Java's
signed ``long``. Each :class:`Stream` is one guess at that encoding, with a way to write a
predicted value back the same way (so that a prediction can be checked against a real token).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Literal

from ..._dataclass import dataclass
from .._alphabet import BASE64, BASE64URL, DECIMAL, HEX, HEX_UPPER, Charset
from .._embedded import decoded_bytes

_SIGNED_DECIMAL = re.compile(r"^-?[0-9]{1,40}$")
MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Stream:
    """One reading of the tokens as integers of at most ``bits`` bits each."""

    name: str
    values: tuple[int, ...]
    bits: int
    render: Callable[[int], str]
    signed: bool = False

    def words_le(self) -> list[int] | None:
        """32-bit words, least significant first within a token (Python's ``getrandbits``)."""
        if self.bits % 32 or self.signed:
            return None
        count = self.bits // 32
        return [(v >> (32 * i)) & MASK32 for v in self.values for i in range(count)]

    def words_java(self) -> list[int] | None:
        """The 32-bit outputs behind Java ``nextInt()`` (one per token) or ``nextLong()`` (two)."""
        if self.bits == 32:
            return [v & MASK32 for v in self.values]
        if self.bits == 64:
            words: list[int] = []
            for v in self.values:
                low = v & MASK32
                low_signed = low - (1 << 32) if low >> 31 else low
                high = ((v - low_signed) >> 32) & MASK32
                words.extend((high, low))
            return words
        return None


def _width(values: Sequence[int]) -> int:
    top = max((abs(v) for v in values), default=0).bit_length()
    return max(32, -(-top // 32) * 32)


def streams(tokens: Sequence[str], charset: Charset) -> list[Stream]:
    """Every integer reading of ``tokens`` that fits their alphabet."""
    out: list[Stream] = []
    if not tokens:
        return out
    if charset is DECIMAL or all(_SIGNED_DECIMAL.match(t) for t in tokens):
        values = tuple(int(t) for t in tokens)
        signed = any(v < 0 for v in values)
        out.append(Stream("decimal", values, _width(values), str, signed=signed))
        return out
    lengths = {len(t) for t in tokens}
    if charset in (HEX, HEX_UPPER):
        upper = charset is HEX_UPPER
        fixed = len(lengths) == 1
        length = next(iter(lengths))
        values = tuple(int(t, 16) for t in tokens)
        spec = ("0" + str(length) if fixed else "") + ("X" if upper else "x")

        def render_hex(v: int, spec: str = spec) -> str:
            return format(v, spec)

        out.append(Stream("hex", values, _width(values), render_hex))
        if fixed and length % 2 == 0:
            size = length // 2
            little = tuple(int.from_bytes(bytes.fromhex(t), "little") for t in tokens)

            def render_le(v: int, size: int = size, upper: bool = upper) -> str:
                text = v.to_bytes(size, "little").hex()
                return text.upper() if upper else text

            out.append(Stream("hex of little-endian bytes", little, size * 8, render_le))
        return out
    if charset in (BASE64, BASE64URL) or "=" in "".join(tokens):
        blobs = [decoded_bytes(t) for t in tokens]
        if all(b is not None for b in blobs) and len({len(b or b"") for b in blobs}) == 1:
            raw = [b or b"" for b in blobs]
            size = len(raw[0])
            url = charset is BASE64URL or any("-" in t or "_" in t for t in tokens)
            padded = any(t.endswith("=") for t in tokens)
            orders: tuple[Literal["big", "little"], ...] = ("big", "little")
            for order in orders:
                values = tuple(int.from_bytes(b, order) for b in raw)

                def render_b64(
                    v: int,
                    size: int = size,
                    order: Literal["big", "little"] = order,
                    url: bool = url,
                    padded: bool = padded,
                ) -> str:
                    data = v.to_bytes(size, order)
                    text = (base64.urlsafe_b64encode if url else base64.b64encode)(data).decode()
                    return text if padded else text.rstrip("=")

                out.append(Stream(f"base64 of {order}-endian bytes", values, size * 8, render_b64))
    return out
