"""Alphabets tokens are written in, and the fixed-width view the statistical tests work on.

A token set is first matched to the smallest well-known alphabet containing every character seen
(decimal, hex, base32, base64url, …). The statistical tests then need each token as a row of
symbols whose every position is uniform under the null hypothesis "a perfect generator made this":

* fixed-length strings over the alphabet are used as they are;
* decimal numbers (and hex numbers of varying length) are integers first: uniform integers below
  ``2**k`` become zero-padded hex (the top digit carrying ``k % 4`` bits), uniform integers below
  ``10**d`` become zero-padded ``d``-digit decimals. Reading the decimal digits of a uniform 32-bit
  number directly would "find" that the first of ten digits is never above 4.
* anything else (JWTs, variable-length strings) has no positional view; only the pooled, structural
  and compression tests apply.

>>> infer_charset(["3f2a", "00b1"]).name
'hex'
>>> infer_charset(["Zm9v_-Ab"]).name
'base64url'
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence

from .._dataclass import dataclass


@dataclass(frozen=True)
class Charset:
    """A token alphabet; ``symbols`` in canonical order (a symbol's index is its value)."""

    name: str
    symbols: str

    @property
    def size(self) -> int:
        return len(self.symbols)

    @property
    def bits_per_symbol(self) -> int | None:
        """``b`` when the alphabet has exactly ``2**b`` symbols, else None."""
        size = self.size
        return size.bit_length() - 1 if size > 1 and size & (size - 1) == 0 else None

    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.symbols)}


DECIMAL = Charset("decimal", string.digits)
HEX = Charset("hex", "0123456789abcdef")
HEX_UPPER = Charset("HEX", "0123456789ABCDEF")
ALPHA_LOWER = Charset("lowercase", string.ascii_lowercase)
ALPHA_UPPER = Charset("uppercase", string.ascii_uppercase)
BASE32 = Charset("base32", string.ascii_uppercase + "234567")
BASE32_LOWER = Charset("base32-lower", string.ascii_lowercase + "234567")
CROCKFORD32 = Charset("crockford32", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
ALNUM_LOWER = Charset("alnum-lower", string.digits + string.ascii_lowercase)
ALNUM_UPPER = Charset("alnum-upper", string.digits + string.ascii_uppercase)
ALPHA = Charset("letters", string.ascii_uppercase + string.ascii_lowercase)
ALNUM = Charset("alnum", string.digits + string.ascii_uppercase + string.ascii_lowercase)
BASE64URL = Charset("base64url", string.ascii_uppercase + string.ascii_lowercase + "0123456789-_")
BASE64 = Charset("base64", string.ascii_uppercase + string.ascii_lowercase + "0123456789+/")

#: Smallest first: a token set gets the first alphabet that contains all its characters.
KNOWN: tuple[Charset, ...] = (
    DECIMAL,
    HEX,
    HEX_UPPER,
    ALPHA_LOWER,
    ALPHA_UPPER,
    BASE32,
    CROCKFORD32,
    BASE32_LOWER,
    ALNUM_LOWER,
    ALNUM_UPPER,
    ALPHA,
    ALNUM,
    BASE64URL,
    BASE64,
)
_PRINTABLE = 94  # printable ASCII without space: the bound for an alphabet we do not recognise


def strip_padding(token: str) -> str:
    """Drop base64 ``=`` padding, which carries no information."""
    return token.rstrip("=") if "=" in token[-2:] else token


def infer_charset(tokens: Sequence[str]) -> Charset:
    """The smallest known alphabet containing every character of ``tokens`` (padding aside).

    Characters keywire does not recognise give an ``observed`` alphabet of at least the 94
    printable ASCII characters, so that bounds computed from it stay upper bounds.
    """
    seen: set[str] = set()
    for token in tokens:
        seen.update(strip_padding(token))
    for charset in KNOWN:
        if seen <= set(charset.symbols):
            return charset
    symbols = "".join(sorted(seen))
    if len(symbols) < _PRINTABLE and all(33 <= ord(c) < 127 for c in symbols):
        extra = "".join(chr(c) for c in range(33, 127) if chr(c) not in seen)
        symbols += extra
    return Charset("observed", symbols)


@dataclass(frozen=True, kw_only=True)
class Positional:
    """Tokens as equal-length rows over ``charset``; ``alphabets[i]`` is position i's symbol count.

    ``rows`` may differ from the tokens as written (a decimal number becomes hex, see the module
    docstring); ``view`` says which view was taken.
    """

    rows: tuple[str, ...]
    charset: Charset
    alphabets: tuple[int, ...]
    view: str
    value_bits: int | None = None  # integers below 2**value_bits, written as hex rows
    top_bits: int | None = None  # for numbers: the bit length of the largest one
    charsets: tuple[Charset, ...] = ()  # per position, when they differ (see ``narrowed``)

    @property
    def length(self) -> int:
        return len(self.alphabets)

    def charset_at(self, position: int) -> Charset:
        return self.charsets[position] if self.charsets else self.charset


#: A position's alphabet is narrowed when chance would fit its symbols in the smaller alphabet
#: with probability below this (hex digits inside alphanumeric tokens, say).
_NARROWING_ALPHA = 1e-9


def narrowed(view: Positional) -> Positional:
    """``view`` with each position read in the smallest known alphabet that holds its symbols,
    where the evidence is overwhelming: a token made of a fixed word and hex digits is not
    36 symbols wide at its hex positions. Positions that never vary are left as they are."""
    n = len(view.rows)
    if n < 2 or view.value_bits is not None:
        return view
    limit = math.log(_NARROWING_ALPHA / max(view.length, 1))
    charsets = []
    alphabets = []
    changed = False
    for column, full in zip(zip(*view.rows, strict=True), view.alphabets, strict=True):
        seen = set(column)
        chosen = view.charset
        if len(seen) > 1:
            smaller = next((c for c in KNOWN if seen <= set(c.symbols)), None)
            if (
                smaller is not None
                and smaller.size < full
                and n * math.log(smaller.size / full) < limit
            ):
                chosen = smaller
        charsets.append(chosen)
        alphabets.append(min(full, chosen.size))
        changed = changed or chosen is not view.charset
    if not changed:
        return view
    return Positional(
        rows=view.rows,
        charset=view.charset,
        alphabets=tuple(alphabets),
        view=view.view,
        value_bits=view.value_bits,
        charsets=tuple(charsets),
    )


def integer_values(tokens: Sequence[str], charset: Charset) -> list[int] | None:
    """The tokens as integers when they are decimal or hex numbers, else None."""
    if charset is DECIMAL:
        return [int(t) for t in tokens]
    if charset in (HEX, HEX_UPPER):
        return [int(t, 16) for t in tokens]
    return None


def positional_view(tokens: Sequence[str], charset: Charset) -> Positional | None:
    """The fixed-width view of ``tokens`` the positional tests use, or None if there is none."""
    if not tokens:
        return None
    lengths = {len(t) for t in tokens}
    if charset is DECIMAL or (charset in (HEX, HEX_UPPER) and len(lengths) > 1):
        return _integer_view(tokens, charset)
    if len(lengths) != 1:
        return None
    (length,) = lengths
    if length == 0:
        return None
    separators = _separator_positions(tokens)
    if separators:
        keep = [i for i in range(length) if i not in separators]
        rows = tuple("".join(t[i] for i in keep) for t in tokens)
        inner = infer_charset(rows)
        if inner.size < charset.size and keep:
            shown = ", ".join(str(i) for i in sorted(separators))
            return narrowed(
                Positional(
                    rows=rows,
                    charset=inner,
                    alphabets=(inner.size,) * len(keep),
                    view=f"as written, without the separators at positions {shown}",
                )
            )
    return narrowed(
        Positional(
            rows=tuple(tokens),
            charset=charset,
            alphabets=(charset.size,) * length,
            view="as written",
        )
    )


_SEPARATORS = frozenset("-_.:~+/ |,;")
_UUID_DASHES = frozenset((8, 13, 18, 23))


def _separator_positions(tokens: Sequence[str]) -> frozenset[int]:
    """Positions holding the same punctuation character in every token (UUID dashes, say).

    One token cannot show that a character is constant, except in the UUID layout.
    """
    first = tokens[0]
    candidates = {i for i, c in enumerate(first) if c in _SEPARATORS}
    if len(tokens) == 1:
        return _UUID_DASHES if len(first) == 36 and candidates == _UUID_DASHES else frozenset()
    for token in tokens[1:]:
        candidates = {i for i in candidates if token[i] == first[i]}
        if not candidates:
            break
    return frozenset(candidates)


def _integer_view(tokens: Sequence[str], charset: Charset) -> Positional | None:
    values = integer_values(tokens, charset)
    if values is None:
        return None
    top = max(values)
    if top <= 0:
        return None
    bits = top.bit_length()
    digits = len(str(top))
    # Uniform integers below 2**bits or below 10**digits: take whichever range is tighter.
    if charset is DECIMAL and 10**digits < 2**bits:
        rows = tuple(str(v).zfill(digits) for v in values)
        return Positional(
            rows=rows,
            charset=DECIMAL,
            alphabets=(10,) * digits,
            view=f"integers below 10^{digits}, zero-padded",
            top_bits=bits,
        )
    width = math.ceil(bits / 4)
    top_bits = bits - 4 * (width - 1)
    rows = tuple(format(v, f"0{width}x") for v in values)
    return Positional(
        rows=rows,
        charset=HEX,
        alphabets=(2**top_bits,) + (16,) * (width - 1),
        view=f"integers below 2^{bits}, as {width} hex digits",
        value_bits=bits,
        top_bits=bits,
    )


def bit_string(rows: Sequence[str], charset: Charset, positions: Sequence[int]) -> str:
    """The bits of ``positions`` of every row, row after row, as a '0'/'1' string.

    Only for alphabets of ``2**b`` symbols (each symbol is exactly ``b`` uniform bits).
    """
    bits = charset.bits_per_symbol
    if bits is None:
        raise ValueError(f"{charset.name} symbols are not whole bits")
    table = {ord(c): format(i, f"0{bits}b") for i, c in enumerate(charset.symbols)}
    if rows and len(positions) == len(rows[0]):
        return "".join(rows).translate(table)
    picked = "".join("".join(row[p] for p in positions) for row in rows)
    return picked.translate(table)


def uniform_low_bits(rows: Sequence[str], charset: Charset, positions: Sequence[int]) -> str:
    """Bits that are (near) uniform for alphabets whose size is not a power of two.

    Each row's ``positions`` are read as one base-``|A|`` number V, uniform below M = |A|^m. Its
    low ``v2(M)`` bits are exactly uniform; its low ``log2(M) - 20`` bits deviate from uniform by
    less than 2^-20 per bit. Whichever is longer is used.
    """
    size = charset.size
    m = len(positions)
    if m == 0 or size < 2:
        return ""
    twos = (size & -size).bit_length() - 1  # the power of two dividing |A|
    exact = twos * m
    near = math.floor(m * math.log2(size)) - 20
    width = max(exact, near)
    if width <= 0:
        return ""
    mask = (1 << width) - 1
    index = charset.index()
    out = []
    whole = m == len(rows[0])
    native = size <= 36 and charset.symbols == (string.digits + string.ascii_lowercase)[:size]
    for row in rows:
        text = row if whole else "".join(row[p] for p in positions)
        if native:
            value = int(text, size)
        else:
            value = 0
            for char in text:
                value = value * size + index[char]
        out.append(format(value & mask, f"0{width}b"))
    return "".join(out)
