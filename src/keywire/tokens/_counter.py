"""Counters and sequences at any place in a token (part of :mod:`keywire.tokens.structure`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ._alphabet import Positional, infer_charset
from ._model import Field

#: Chance of reporting a counter (or a repeat) in random tokens, per token set.
COUNTER_ALPHA = 1e-6
_MAX_WINDOW = 20
#: Searches whose cost grows with every token look at this many (the first ones).
SEARCH_SAMPLE = 256


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
    log_limit = math.log(COUNTER_ALPHA / len(windows))
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
