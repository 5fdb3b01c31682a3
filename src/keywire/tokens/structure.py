"""Structural analysis: what a handful of tokens (1 to 10 is enough) are made of.

It recognises identifier formats that carry a clock (UUIDv1/v6/v7, MongoDB ObjectId, ULID,
Snowflake IDs) and timestamps embedded anywhere (decimal, hex, base64-decoded) near the sampling
time; counters and sequences at any place in the token; constant and restricted positions;
repeated tokens. From the alphabet, the length and what it explained it derives two upper bounds
on the entropy of one token:

* ``max_bits``: every varying position at its alphabet's full width;
* ``unpredictable_bits``: the same, minus what the fields give away (a timestamp is known to
  whoever knows when the token was issued, a counter to whoever saw a neighbouring token).

A session token needs at least 64 unpredictable bits (OWASP); below 40 an online attacker can
enumerate the candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._dataclass import dataclass
from ._alphabet import Charset, Positional, strip_padding
from ._counter import SEARCH_SAMPLE, find_counter
from ._embedded import find_embedded_time
from ._formats import (
    FormatMatch,
    TimeWindow,
    iso,
    match_objectid,
    match_snowflake,
    match_ulid,
    match_uuid,
    window_for,
)
from ._model import Field, Structure, Weakness, WeaknessKind
from ._special import poisson_sf
from ._structure_weaknesses import (
    ENTROPY_FLOOR,
    ENUMERABLE_BITS,
    counter_weakness,
    embedded_weakness,
    low_entropy,
    repeats,
    severity_for_bits,
    time_weakness,
)

__all__ = [
    "ENTROPY_FLOOR",
    "ENUMERABLE_BITS",
    "SEARCH_SAMPLE",
    "StructureResult",
    "analyze_structure",
    "position_alphabets",
    "severity_for_bits",
]

#: Chance of calling a position constant or restricted when it is not, per token set.
_STRUCTURE_ALPHA = 1e-9


@dataclass(frozen=True, kw_only=True)
class StructureResult:
    structure: Structure
    alphabets: tuple[int, ...]
    distinct: tuple[int, ...]
    weaknesses: tuple[Weakness, ...]
    #: Positions a field explains (a timestamp, a UUID's version digit): the statistical tests
    #: leave them out, since they are not meant to be uniform.
    explained: frozenset[int] = frozenset()


def position_alphabets(view: Positional) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Each position's alphabet size after the evidence, and its distinct symbol count.

    A position is constant when every token has the same symbol there and chance would rarely
    do that; its alphabet is restricted to the symbols seen when far fewer appeared than a
    uniform choice over the full alphabet would show. Both tests run at a tiny error rate: a
    wrong call would lower an upper bound.
    """
    n = len(view.rows)
    length = view.length
    distinct = tuple(len(set(column)) for column in zip(*view.rows, strict=True))
    limit = _STRUCTURE_ALPHA / max(length, 1)
    alphabets = []
    for full, seen in zip(view.alphabets, distinct, strict=True):
        size = full
        if seen == 1 and n >= 2 and full > 1 and (n - 1) * math.log(full) > -math.log(limit):
            size = 1
        elif 1 < seen < full:
            expected_missing = full * (1.0 - 1.0 / full) ** n
            if poisson_sf(full - seen, expected_missing) < limit:
                size = seen
        alphabets.append(size)
    return tuple(alphabets), distinct


def analyze_structure(
    tokens: Sequence[str],
    *,
    charset: Charset,
    view: Positional | None,
    sampled_at: Sequence[float],
    written: Charset | None = None,
) -> StructureResult:
    """The structure of ``tokens`` (in issue order) sampled at the instants ``sampled_at``.

    ``charset`` is the alphabet of ``view`` (or of the tokens when there is no view), ``written``
    the alphabet the tokens are written in, when it differs (decimal numbers read as hex).
    """
    written = written or charset
    n = len(tokens)
    head = list(tokens[:SEARCH_SAMPLE])
    window = window_for(sampled_at, len(head))
    lengths = [len(strip_padding(t)) for t in tokens]
    notes: list[str] = []
    fields: list[Field] = []
    weaknesses: list[Weakness] = []
    alphabets: tuple[int, ...] = ()
    distinct: tuple[int, ...] = ()
    if view is not None:
        alphabets, distinct = position_alphabets(view)
        max_bits = sum(math.log2(a) for a in alphabets)
        max_bits += _range_slack(view, n, max_bits)
    else:
        max_bits = _unaligned_bits(tokens, charset)

    known = _known_format(head, window)
    kind = "opaque"
    if known is not None:
        kind = known.kind
        notes.extend(known.notes)
        fields.extend(known.fields)
        max_bits = min(max_bits, known.max_bits)
        unpredictable = min(max_bits, known.unpredictable_bits)
        if known.time_based:
            weaknesses.extend(time_weakness(known, unpredictable, n))
    else:
        unpredictable = max_bits
        embedded = find_embedded_time(head, window)
        if embedded is not None:
            aligned = (
                view is not None and view.view == "as written" and "bytes" not in embedded.encoding
            )
            span = (
                sum(
                    math.log2(a)
                    for a in alphabets[embedded.start : embedded.start + embedded.width]
                )
                if aligned
                else embedded.bits
            )
            field = Field(
                kind="timestamp",
                start=embedded.start if aligned else -1,
                end=embedded.start + embedded.width if aligned else -1,
                bits=span,
                unpredictable=embedded.unpredictable,
                detail=f"{embedded.unit} as {embedded.encoding} at offset {embedded.start}, "
                f"first {iso(embedded.first)}",
            )
            fields.append(field)
            unpredictable = max(0.0, unpredictable - span + field.unpredictable)
            weaknesses.extend(embedded_weakness(field, unpredictable, len(head)))
        if view is not None and len(head) >= 2:
            taken = [(f.start, f.end) for f in fields if f.start >= 0]
            counter = find_counter(view, alphabets, taken)
            if counter is not None:
                field, needed = counter
                fields.append(field)
                unpredictable = max(0.0, unpredictable - field.bits + field.unpredictable)
                weaknesses.append(counter_weakness(field, unpredictable, needed))
        kind = _describe(written, view, fields)

    repeated = repeats(tokens, max_bits)
    if repeated is not None:
        weaknesses.append(repeated)
    causes = (WeaknessKind.TIME_BASED, WeaknessKind.SEQUENTIAL, WeaknessKind.REPEATED)
    if max_bits < ENTROPY_FLOOR and not any(w.kind in causes for w in weaknesses):
        weaknesses.append(low_entropy(max_bits, written, view, n, min(lengths), max(lengths)))
    structure = Structure(
        kind=kind,
        charset=written.name,
        alphabet_size=written.size,
        min_length=min(lengths),
        max_length=max(lengths),
        max_bits=round(max_bits, 2),
        unpredictable_bits=round(min(unpredictable, max_bits), 2),
        fields=tuple(fields),
        notes=tuple(notes),
    )
    explained: set[int] = set()
    if view is not None and not (kind.startswith("uuid") and view.length != 32):
        for f in fields:
            if f.start >= 0:
                explained.update(range(f.start, min(f.end, view.length)))
    return StructureResult(
        structure=structure,
        alphabets=alphabets,
        distinct=distinct,
        weaknesses=tuple(weaknesses),
        explained=frozenset(explained),
    )


def _known_format(tokens: list[str], window: TimeWindow) -> FormatMatch | None:
    for matcher in (match_uuid, match_objectid, match_ulid, match_snowflake):
        found = matcher(tokens, window)
        if found is not None:
            return found
    return None


def _range_slack(view: Positional, n: int, bits: float) -> float:
    """Bits a number's range may exceed what the positional view counts.

    Numbers are read as uniform below the smaller of the powers of two and of ten above the
    largest sample; the bound takes the larger. And n uniform samples below 2^k all stay below
    2^(k-j) with probability 2^(-j*n): with few samples the bound widens until that chance is
    about one in a million.
    """
    if view.top_bits is None:
        return 0.0
    extra = max(0.0, view.top_bits - bits)
    return extra + (0.0 if n >= 20 else float(math.ceil(20 / n)))


def _unaligned_bits(tokens: Sequence[str], charset: Charset) -> float:
    """A bound for tokens of varying length: the longest, minus a prefix and suffix all share."""
    stripped = [strip_padding(t) for t in tokens]
    longest = max(len(t) for t in stripped)
    shared = 0
    if len(stripped) >= 2:
        per_char = math.log(charset.size)
        needed = math.ceil(-math.log(_STRUCTURE_ALPHA) / per_char) + 1
        if len(stripped) >= needed:
            prefix = _common_prefix(stripped)
            suffix = _common_prefix([t[::-1] for t in stripped])
            shared = min(prefix + suffix, longest)
    return (longest - shared) * math.log2(charset.size)


def _common_prefix(texts: Sequence[str]) -> int:
    first, last = min(texts), max(texts)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return i


def _describe(charset: Charset, view: Positional | None, fields: Sequence[Field]) -> str:
    kinds = {f.kind for f in fields}
    if "timestamp" in kinds and "counter" in kinds:
        return "timestamp and counter"
    if "timestamp" in kinds:
        return "embedded timestamp"
    if "counter" in kinds:
        return "counter"
    if view is not None and (view.value_bits is not None or view.view.startswith("integers")):
        return f"{charset.name} number"
    return f"{charset.name} string" if view is not None else f"{charset.name} (varying length)"
