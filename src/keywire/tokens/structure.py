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

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .._models import Confidence, Severity
from ..redact import redact
from ._alphabet import Charset, Positional, infer_charset, strip_padding
from ._formats import (
    FormatMatch,
    TimeWindow,
    find_embedded_time,
    iso,
    match_objectid,
    match_snowflake,
    match_ulid,
    match_uuid,
    window_for,
)
from ._model import Field, Structure, Weakness, WeaknessKind
from ._special import format_p, poisson_sf

ENTROPY_FLOOR = 64.0
ENUMERABLE_BITS = 40.0
#: Searches whose cost grows with every token look at this many (the first ones).
SEARCH_SAMPLE = 256
#: Chance of calling a position constant or restricted when it is not, per token set.
_STRUCTURE_ALPHA = 1e-9
#: Chance of reporting a counter in random tokens, per token set.
_COUNTER_ALPHA = 1e-6
_MAX_WINDOW = 20


def severity_for_bits(bits: float) -> Severity:
    """How bad ``bits`` of unpredictability are for a token that guards something."""
    if bits < ENUMERABLE_BITS:
        return Severity.HIGH
    if bits < ENTROPY_FLOOR:
        return Severity.MEDIUM
    return Severity.LOW


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
            weaknesses.extend(_time_weakness(known, unpredictable, n))
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
            weaknesses.extend(_embedded_weakness(field, unpredictable, len(head)))
        if view is not None and len(head) >= 2:
            taken = [(f.start, f.end) for f in fields if f.start >= 0]
            counter = find_counter(view, alphabets, taken)
            if counter is not None:
                field, needed = counter
                fields.append(field)
                unpredictable = max(0.0, unpredictable - field.bits + field.unpredictable)
                weaknesses.append(_counter_weakness(field, unpredictable, needed))
        kind = _describe(written, view, fields)

    repeated = _repeats(tokens, max_bits)
    if repeated is not None:
        weaknesses.append(repeated)
    causes = (WeaknessKind.TIME_BASED, WeaknessKind.SEQUENTIAL, WeaknessKind.REPEATED)
    if max_bits < ENTROPY_FLOOR and not any(w.kind in causes for w in weaknesses):
        weaknesses.append(_low_entropy(max_bits, written, view, n, min(lengths), max(lengths)))
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


def find_counter(
    view: Positional, alphabets: Sequence[int], taken: Sequence[tuple[int, int]]
) -> tuple[Field, int] | None:
    """The window of positions whose values rise in small steps or stay clustered.

    Each varying position is read in the smallest known alphabet holding the symbols seen there
    (a position that only ever shows hex digits is hex, even inside otherwise alphanumeric
    tokens), and positions that never change count for nothing, so a window [s, e) of a token
    is a number below R, the product of those alphabet sizes. Random values
    rise by at most D in all of n-1 steps with probability about (D/R)^(n-1), and fall within a
    range r with probability about n*(r/R)^(n-1). A window is a counter when that probability,
    times the number of windows tried, is below 1e-6. The window reported is the one that
    explains the most bits (the narrowest of those within 2 bits of the best). Returns the field
    and the number of tokens the conclusion needed.
    """
    # Repeated tokens are one observation, not several: count each value once.
    rows = list(dict.fromkeys(view.rows[:SEARCH_SAMPLE]))
    n = len(rows)
    if n < 2:
        return None
    length = view.length
    sizes = []
    indices = []
    for column, full in zip(zip(*rows, strict=True), view.alphabets, strict=True):
        seen = set(column)
        if len(seen) == 1:
            sizes.append(1)
            indices.append([0] * n)
            continue
        charset = infer_charset(["".join(sorted(seen))])
        if charset.name == "observed":
            charset = view.charset
        order = charset.index()
        size = min(full, charset.size)
        sizes.append(size)
        indices.append([min(order.get(c, 0), size - 1) for c in column])
    widest = min(length, _MAX_WINDOW)
    width_bits = [math.log2(a) for a in alphabets]
    # Only windows that start and end on a varying position: the others hold the same values.
    windows = {
        (s, e)
        for s in range(length)
        for e in range(s + 1, min(length, s + widest) + 1)
        if sizes[s] > 1 and sizes[e - 1] > 1 and not any(s < te and ts < e for ts, te in taken)
    }
    if not windows:
        return None
    log_limit = math.log(_COUNTER_ALPHA / len(windows))
    found_windows: list[tuple[float, Field, int]] = []
    for s in range(length):
        values = [0] * n
        log_range = 0.0
        for e in range(s + 1, min(length, s + widest) + 1):
            size = sizes[e - 1]
            values = [v * size + k for v, k in zip(values, indices[e - 1], strict=True)]
            log_range += math.log(size)
            if (s, e) not in windows or log_range <= 0:
                continue
            found = _counter_window(values, n, log_range, log_limit)
            if found is None:
                continue
            log_p, unpredictable, text = found
            bits = sum(width_bits[s:e])
            needed = max(2, 1 + math.ceil(log_limit / (log_p / (n - 1))))
            field = Field(
                kind="counter",
                start=s,
                end=e,
                bits=bits,
                unpredictable=min(unpredictable, bits),
                detail=f"positions {s}-{e - 1} {text}",
            )
            found_windows.append((bits - field.unpredictable, field, min(needed, n)))
    if not found_windows:
        return None
    # The field worth reporting explains the most bits. A window that runs on into random
    # padding explains about as much as the counter alone (its steps grow as large as the
    # padding), give or take a bit of noise: among windows within 2 bits of the best, the
    # narrowest is the counter.
    most = max(explained for explained, _, _ in found_windows)
    close = [w for w in found_windows if w[0] >= most - 2.0]
    _, field, needed = min(close, key=lambda w: (w[1].end - w[1].start, -w[0]))
    return field, needed


def _counter_window(
    values: Sequence[int], n: int, log_range: float, log_limit: float
) -> tuple[float, float, str] | None:
    """(log p, unpredictable bits, description) when ``values`` look like a counter."""
    low, high = min(values), max(values)
    if low == high:
        return None
    steps = [b - a for a, b in itertools.pairwise(values)]
    log_p = math.inf
    unpredictable = 0.0
    text = ""
    if all(d > 0 for d in steps):
        top = max(steps)
        log_p = (n - 1) * (math.log(top) - log_range)
        unpredictable = math.log2(top) + 1.0
        text = f"rise in steps of at most {top}"
    spread = high - low + 1
    log_cluster = math.log(n) + (n - 1) * (math.log(spread) - log_range)
    if log_cluster < log_p:
        log_p, unpredictable = log_cluster, math.log2(spread)
        text = f"stay within a range of {spread}"
    if log_p >= log_limit:
        return None
    return log_p, unpredictable, text


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


def _time_weakness(known: FormatMatch, unpredictable: float, n: int) -> list[Weakness]:
    if unpredictable >= ENTROPY_FLOOR:
        return []
    return [
        Weakness(
            kind=WeaknessKind.TIME_BASED,
            title=f"time-based identifier ({known.kind})",
            message=(
                f"The tokens are {known.description}. Whoever knows roughly when one was issued "
                f"has at most {unpredictable:.0f} bits left to guess."
            ),
            severity=severity_for_bits(unpredictable),
            confidence=Confidence.HIGH if known.confident else Confidence.MEDIUM,
            samples_needed=1 if known.kind.startswith("uuid") else min(n, 2),
            location=known.kind,
            evidence={
                "format": known.kind,
                "unpredictable_bits": f"{unpredictable:.1f}",
                **known.evidence,
            },
        )
    ]


def _embedded_weakness(field: Field, unpredictable: float, n: int) -> list[Weakness]:
    if unpredictable >= ENTROPY_FLOOR:
        return []
    return [
        Weakness(
            kind=WeaknessKind.TIME_BASED,
            title="timestamp embedded in the token",
            message=(
                f"Every token carries a timestamp near the sampling time ({field.detail}); "
                f"at most {unpredictable:.0f} bits are left to guess."
            ),
            severity=severity_for_bits(unpredictable),
            confidence=Confidence.HIGH if n >= 2 else Confidence.MEDIUM,
            samples_needed=min(n, 2),
            location="embedded-timestamp",
            evidence={"timestamp": field.detail, "unpredictable_bits": f"{unpredictable:.1f}"},
        )
    ]


def _counter_weakness(field: Field, unpredictable: float, needed: int) -> Weakness:
    severity = severity_for_bits(unpredictable)
    tail = (
        "a neighbouring token reveals the others"
        if unpredictable < ENTROPY_FLOOR
        else "the rest of the token still carries enough entropy, but the counter reveals "
        "how many tokens were issued and in what order"
    )
    return Weakness(
        kind=WeaknessKind.SEQUENTIAL,
        title="sequential tokens (counter)",
        message=f"The tokens contain a counter ({field.detail}): {tail}. At most "
        f"{unpredictable:.0f} bits are left to guess.",
        severity=severity,
        confidence=Confidence.HIGH,
        samples_needed=needed,
        location=f"counter:{field.start}-{field.end}",
        evidence={"counter": field.detail, "unpredictable_bits": f"{unpredictable:.1f}"},
    )


def _low_entropy(
    max_bits: float,
    charset: Charset,
    view: Positional | None,
    n: int,
    shortest: int,
    longest: int,
) -> Weakness:
    length = f"{shortest}" if shortest == longest else f"{shortest}-{longest}"
    if view is not None and view.value_bits is not None:
        what = f"{charset.name} numbers below 2^{view.value_bits}"
        one_token = float(view.value_bits)
    elif view is not None and view.view.startswith("integers below 10^"):
        what = f"{charset.name} numbers of {view.length} digits"
        one_token = view.length * math.log2(10)
    else:
        what = f"{length} {charset.name} characters"
        one_token = longest * math.log2(max(charset.size, 2))
    # The length and the alphabet alone settle it when even a full-width token is too short.
    needed = 1 if one_token < ENTROPY_FLOOR else n
    return Weakness(
        kind=WeaknessKind.LOW_ENTROPY,
        title="too little entropy",
        message=(
            f"{what} hold at most {max_bits:.0f} bits; a token that guards anything needs at "
            f"least {ENTROPY_FLOOR:.0f}."
        ),
        severity=severity_for_bits(max_bits),
        confidence=Confidence.HIGH if n >= 10 else Confidence.MEDIUM,
        samples_needed=needed,
        location="entropy",
        evidence={
            "max_bits": f"{max_bits:.1f}",
            "alphabet": f"{charset.name} ({charset.size} symbols)",
            "length": length,
        },
    )


def _repeats(tokens: Sequence[str], max_bits: float) -> Weakness | None:
    n = len(tokens)
    if n < 2:
        return None
    counts = Counter(tokens)
    repeats = n - len(counts)
    if repeats == 0:
        return None
    if len(counts) == 1:
        value = next(iter(counts))
        return Weakness(
            kind=WeaknessKind.REPEATED,
            title="the same token every time",
            message=f"Every one of the {n} samples is the same value: it is not a per-client "
            "secret, or the generator does not change within the sampling time.",
            severity=Severity.HIGH,
            confidence=Confidence.HIGH if n >= 3 else Confidence.MEDIUM,
            samples_needed=2,
            location="repeats",
            evidence={"repeats": str(repeats), "distinct": "1", "value": str(redact(value))},
        )
    # Expected collisions among n tokens of max_bits bits (birthday bound).
    expected = n * (n - 1) / 2.0 * 2.0 ** (-max_bits)
    p_value = poisson_sf(repeats, expected)
    if p_value >= _COUNTER_ALPHA:
        return None
    seen: set[str] = set()
    first_repeat = n
    for i, token in enumerate(tokens):
        if token in seen:
            first_repeat = i + 1
            break
        seen.add(token)
    value, times = counts.most_common(1)[0]
    message = (
        f"{repeats} of {n} samples repeat an earlier one (the most frequent appears "
        f"{times} times); a generator with {max_bits:.0f} bits would repeat with "
        f"probability {format_p(p_value)}."
    )
    return Weakness(
        kind=WeaknessKind.REPEATED,
        title="repeated tokens",
        message=message,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        samples_needed=first_repeat,
        location="repeats",
        evidence={
            "repeats": str(repeats),
            "distinct": str(len(counts)),
            "most_frequent": str(redact(value)),
            "p_value": format_p(p_value),
        },
    )
