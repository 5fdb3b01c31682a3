"""The statistical tests' shared parts: a test and its outcome, the tokens prepared for
positional tests (:class:`Prepared`), and the chi-square and normal helpers.

:mod:`keywire.tokens.stats` runs the tests and decides; :mod:`keywire.tokens._stat_tests`
defines them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence

from .._dataclass import dataclass
from ._alphabet import KNOWN, Positional, bit_string, uniform_low_bits
from ._special import chi2_sf, normal_sf


@dataclass(frozen=True)
class Outcome:
    p_value: float | None  # None: the test could not run on this many samples
    statistic: float | None
    detail: str


@dataclass(frozen=True)
class StatTest:
    name: str
    title: str
    min_samples: int
    run: Callable[[Sequence[str]], Outcome]


def chi2_uniform(counts: Sequence[int]) -> tuple[float, float]:
    """Chi-square statistic and p-value of ``counts`` against equal expected counts."""
    total = sum(counts)
    cells = len(counts)
    if cells < 2 or total == 0:
        return 0.0, 1.0
    expected = total / cells
    statistic = sum((c - expected) ** 2 for c in counts) / expected
    return statistic, chi2_sf(statistic, cells - 1)


def normal_quantile(p: float) -> float:
    """z with P(Z >= z) = p, by bisection (only needed a few times per analysis)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if normal_sf(middle) > p:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


class Prepared:
    """The positional view with each position's symbols mapped to indices 0..a-1."""

    def __init__(self, view: Positional, alphabets: Sequence[int], full: Sequence[int]) -> None:
        self.view = view
        self.charset = view.charset
        self.maps: list[dict[str, int]] = []
        self._columns: dict[int, list[tuple[str, ...]]] = {}
        self._counts: dict[tuple[int, int], Counter[str]] = {}
        self._transitions: dict[tuple[int, int], list[int]] = {}
        self._bits: dict[int, tuple[str, int]] = {}
        columns = self.columns(view.rows) if view.rows else []
        self.charsets = [view.charset_at(i) for i in range(view.length)]
        sizes, widths = list(alphabets), list(full)
        # The alphabets before the narrowing below: what sample counts are quoted against.
        self.declared = tuple(a for a, w in zip(alphabets, full, strict=True) if 1 < a == w)
        for i, column in enumerate(columns):
            # Each position is tested in the smallest known alphabet holding what it showed.
            # A uniform choice over a wider alphabet, seen only inside the smaller one, is
            # uniform over the smaller one, so this never makes a perfect generator fail.
            if sizes[i] > 1 and sizes[i] == widths[i]:
                seen = set(column)
                smaller = next((c for c in KNOWN if seen <= set(c.symbols)), None)
                if smaller is not None and smaller.size < sizes[i]:
                    self.charsets[i] = smaller
                    sizes[i] = widths[i] = smaller.size
        self.alphabets = tuple(sizes)
        self.full = tuple(widths)
        for i, size in enumerate(self.alphabets):
            if size == self.full[i]:
                self.maps.append(self.charsets[i].index())
            else:
                self.maps.append({c: k for k, c in enumerate(sorted(set(columns[i])))})
        # Positions every statistical test may use: they vary and sit at their full width.
        self.uniform = [i for i, a in enumerate(self.alphabets) if a > 1 and a == self.full[i]]
        # The pooled test needs one alphabet: the one most uniform positions use, in full.
        counts = Counter(self.charsets[i] for i in self.uniform)
        self.pooled_charset = counts.most_common(1)[0][0] if counts else self.charset
        self.whole = [
            i
            for i in self.uniform
            if self.charsets[i] is self.pooled_charset
            and self.alphabets[i] == self.pooled_charset.size
        ]
        self.same_charset = len({self.charsets[i] for i in self.uniform}) <= 1
        self.varying = [i for i, a in enumerate(self.alphabets) if a > 1]

    # Every test runs on a prefix of the view's rows, so the prefix length is a sound cache key.
    def columns(self, rows: Sequence[str]) -> list[tuple[str, ...]]:
        cached = self._columns.get(len(rows))
        if cached is None:
            cached = list(zip(*rows, strict=True))
            self._columns = {len(rows): cached}
        return cached

    def counts(self, rows: Sequence[str], i: int) -> Counter[str]:
        key = (len(rows), i)
        cached = self._counts.get(key)
        if cached is None:
            cached = Counter(self.columns(rows)[i])
            self._counts[key] = cached
        return cached

    def transition_cells(self, rows: Sequence[str], i: int) -> list[int]:
        key = (len(rows), i)
        cached = self._transitions.get(key)
        if cached is None:
            column = self.columns(rows)[i]
            pairs = Counter(itertools.pairwise(column))
            cached = difference_counts(pairs, self.maps[i], self.maps[i], self.alphabets[i])
            self._transitions[key] = cached
        return cached

    def bits(self, rows: Sequence[str]) -> tuple[str, int]:
        """A bit string made of uniform bits only, and how many bits each row contributes."""
        cached = self._bits.get(len(rows))
        if cached is None:
            cached = self._make_bits(rows)
            self._bits = {len(rows): cached}
        return cached

    def _make_bits(self, rows: Sequence[str]) -> tuple[str, int]:
        if not rows or not self.uniform:
            return "", 0
        width = self.view.value_bits
        if width is not None:
            return "".join(format(int(r, 16), f"0{width}b") for r in rows), width
        if self.same_charset:
            charset = self.charsets[self.uniform[0]]
            if charset.bits_per_symbol is not None:
                per_row = len(self.uniform) * charset.bits_per_symbol
                return bit_string(rows, charset, self.uniform), per_row
            stream = uniform_low_bits(rows, charset, self.uniform)
            return stream, len(stream) // len(rows)
        # Mixed alphabets: whole bits from the positions whose alphabet is a power of two.
        picked = [i for i in self.uniform if self.charsets[i].bits_per_symbol is not None]
        if not picked:
            return "", 0
        tables = {
            i: {
                c: format(k, f"0{self.charsets[i].bits_per_symbol}b")
                for c, k in self.maps[i].items()
            }
            for i in picked
        }
        stream = "".join("".join(tables[i][row[i]] for i in picked) for row in rows)
        return stream, len(stream) // len(rows)


def difference_counts(
    pairs: Counter[tuple[str, str]], first: dict[str, int], second: dict[str, int], size: int
) -> list[int]:
    cells = [0] * size
    for (a, b), count in pairs.items():
        cells[(second[b] - first[a]) % size] += count
    return cells
