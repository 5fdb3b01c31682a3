"""Statistical analysis: tests that look for patterns a perfect generator would not produce.

Every test computes a p-value: the probability that a perfect generator's output would look at
least this odd. The token set has a weakness when some test's p-value is below the family-wise
significance level ``alpha`` split evenly across the tests that ran (Bonferroni); tests made of
many sub-tests (one per position, one per bit) first combine them with Šidák's correction. So
the chance that keywire reports a non-random pattern in a perfect generator's output is at most
``alpha`` per analysis. No test can show that tokens are random: the verdict of a passing test
is "no weakness found at N samples".

Tests (samples needed for a 32-character base64url token in brackets):

* ``chars.pooled``: chi-square of all characters together against a uniform alphabet [10];
* ``chars.chi2``: chi-square per position [5 x alphabet = 320];
* ``chars.transitions``: per position, the difference between successive tokens' characters
  (modulo the alphabet) is uniform when tokens are independent [321];
* ``chars.adjacent``: the same between neighbouring positions within a token [320];
* ``bits.bias``: each bit of the token's decoded value is 1 half the time [100];
* ``fips140-2.*``: monobit, poker, runs, long run on 20,000-bit blocks [105];
* ``compression``: zlib cannot compress a perfect generator's output below its entropy; the
  chance of saving k bits is at most 2^(1-k) [10].

Per position the *effective entropy at significance alpha* is the position's full width when its
chi-square test does not reject uniformity, and otherwise the min-entropy of its most common
symbol at the upper confidence bound of its frequency (NIST SP 800-90B, 6.3.1).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._models import Confidence, Severity
from . import fips
from ._alphabet import KNOWN, Charset, Positional, bit_string, uniform_low_bits
from ._model import PositionStats, TestResult, Verdict, Weakness, WeaknessKind
from ._special import chi2_sf, format_p, normal_sf, sidak, two_sided_normal

DEFAULT_ALPHA = 1e-6
_COMPRESS_CAP = 4 * 1024 * 1024
_FIPS_MAX_BLOCKS = 1000


@dataclass(frozen=True, kw_only=True)
class StatsResult:
    tests: tuple[TestResult, ...]
    positions: tuple[PositionStats, ...]
    effective_bits: float | None
    weakness: Weakness | None


@dataclass(frozen=True)
class _Outcome:
    p_value: float | None  # None: the test could not run on this many samples
    statistic: float | None
    detail: str


@dataclass(frozen=True)
class _Test:
    name: str
    title: str
    min_samples: int
    run: Callable[[Sequence[str]], _Outcome]


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


class _Prepared:
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
            cached = _difference_counts(pairs, self.maps[i], self.maps[i], self.alphabets[i])
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


def run_statistics(
    view: Positional | None,
    *,
    alphabets: Sequence[int],
    alpha: float = DEFAULT_ALPHA,
    tokens: Sequence[str] = (),
    charset: Charset | None = None,
) -> StatsResult:
    """Run every statistical test that has enough samples, and decide at significance ``alpha``.

    ``view`` is the positional view (None when the tokens have none; then only the pooled
    character and compression tests run, on ``tokens`` over ``charset``).
    """
    tests: list[_Test] = []
    prepared: _Prepared | None = None
    if view is not None and view.rows:
        prepared = _Prepared(view, alphabets, view.alphabets)
        tests.extend(_positional_tests(prepared))
    elif tokens and charset is not None:
        tests.append(_pooled_test_unaligned(charset))
        tests.append(_compression_unaligned(charset))
    rows: Sequence[str] = view.rows if view is not None else tokens
    n = len(rows)
    outcomes = [(test, test.run(rows) if n >= test.min_samples else None) for test in tests]
    ran = [o for _, o in outcomes if o is not None and o.p_value is not None]
    threshold = alpha / max(len(ran), 1)
    results = []
    failed: list[tuple[_Test, _Outcome]] = []
    for test, outcome in outcomes:
        if outcome is None or outcome.p_value is None:
            results.append(
                TestResult(
                    name=test.name,
                    title=test.title,
                    verdict=Verdict.NOT_RUN,
                    samples=n,
                    min_samples=test.min_samples,
                    detail=outcome.detail
                    if outcome is not None
                    else f"needs at least {test.min_samples} samples",
                )
            )
            continue
        weak = outcome.p_value < threshold
        if weak:
            failed.append((test, outcome))
        results.append(
            TestResult(
                name=test.name,
                title=test.title,
                verdict=Verdict.WEAKNESS if weak else Verdict.NO_WEAKNESS,
                samples=n,
                min_samples=test.min_samples,
                p_value=outcome.p_value,
                statistic=outcome.statistic,
                threshold=threshold,
                detail=outcome.detail,
            )
        )
    positions: tuple[PositionStats, ...] = ()
    effective: float | None = None
    if prepared is not None:
        positions = _position_stats(prepared, alpha)
        effective = round(sum(p.effective_bits for p in positions), 2)
    weakness = _weakness(failed, rows, threshold, effective) if failed else None
    return StatsResult(
        tests=tuple(results), positions=positions, effective_bits=effective, weakness=weakness
    )


def _positional_tests(prep: _Prepared) -> list[_Test]:
    # Sample counts are quoted for the alphabets the tokens are written in (with few samples
    # the tests read some positions in a narrower alphabet, see _Prepared).
    declared = prep.declared or tuple(prep.alphabets[i] for i in prep.varying) or (2,)
    size = max(declared)
    uniform_count = max(sum(1 for a in declared if a == size), 1)
    smallest = min(declared)
    largest = max(declared)
    whole_bits = sum(int(math.log2(a)) for a in declared if a & (a - 1) == 0)
    near_bits = int(sum(math.log2(a) for a in declared)) - 20
    bits_per_row = max(prep.bits(prep.view.rows[:1])[1], whole_bits, near_bits, 1)
    fips_cache: dict[int, fips.FipsSummary] = {}
    return [
        _Test(
            "chars.pooled",
            "Character frequencies, all positions pooled (chi-square)",
            max(1, math.ceil(5 * size / uniform_count)),
            lambda rows: _pooled(prep, rows),
        ),
        _Test(
            "chars.chi2",
            "Character frequencies per position (chi-square)",
            5 * smallest,
            lambda rows: _per_position(prep, rows),
        ),
        _Test(
            "chars.transitions",
            "Transitions between successive tokens, per position (chi-square)",
            5 * smallest + 1,
            lambda rows: _transitions(prep, rows),
        ),
        _Test(
            "chars.adjacent",
            "Neighbouring positions within a token (chi-square)",
            5 * largest,
            lambda rows: _adjacent(prep, rows),
        ),
        _Test("bits.bias", "Bit bias per bit position", 100, lambda rows: _bit_bias(prep, rows)),
        *(
            _Test(
                f"fips140-2.{name}",
                f"FIPS 140-2 {name.replace('_', ' ')} test (20,000-bit blocks)",
                math.ceil(fips.BLOCK_BITS / bits_per_row),
                _fips_runner(prep, name, fips_cache),
            )
            for name in ("monobit", "poker", "runs", "long_run")
        ),
        _Test("compression", "Compression (zlib)", 10, lambda rows: _compression(prep, rows)),
    ]


def _pooled(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    if not prep.whole:
        return _Outcome(None, None, "no position varies over the full alphabet")
    columns = prep.columns(rows)
    counts: Counter[str] = Counter()
    for i in prep.whole:
        counts.update(columns[i])
    charset = prep.pooled_charset
    size = charset.size
    if sum(counts.values()) < 5 * size:
        return _Outcome(None, None, f"needs {5 * size} characters")
    statistic, p = chi2_uniform([counts.get(c, 0) for c in charset.symbols])
    return _Outcome(p, statistic, f"{sum(counts.values())} characters over {size} symbols")


def _per_position(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    n = len(rows)
    worst = (1.0, 0.0, -1)
    tested = 0
    for i in prep.varying:
        size = prep.alphabets[i]
        if n < 5 * size:
            continue
        statistic, p = _position_chi2(prep, prep.counts(rows, i), i)
        tested += 1
        if p < worst[0] or worst[2] < 0:
            worst = (p, statistic, i)
    if not tested:
        return _Outcome(None, None, "no position has 5 samples per symbol")
    return _Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} positions; least uniform: position {worst[2]} (p={format_p(worst[0])})",
    )


def _position_chi2(prep: _Prepared, counts: Counter[str], i: int) -> tuple[float, float]:
    mapping = prep.maps[i]
    cells = [0] * prep.alphabets[i]
    for symbol, count in counts.items():
        index = mapping.get(symbol)
        if index is None or index >= len(cells):
            # A symbol outside the position's alphabet: as far from uniform as it gets.
            return math.inf, 0.0
        cells[index] += count
    return chi2_uniform(cells)


def _difference_counts(
    pairs: Counter[tuple[str, str]], first: dict[str, int], second: dict[str, int], size: int
) -> list[int]:
    cells = [0] * size
    for (a, b), count in pairs.items():
        cells[(second[b] - first[a]) % size] += count
    return cells


def _transitions(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    n = len(rows)
    worst = (1.0, 0.0, -1)
    tested = 0
    for i in prep.varying:
        size = prep.alphabets[i]
        if n - 1 < 5 * size:
            continue
        statistic, p = chi2_uniform(prep.transition_cells(rows, i))
        tested += 1
        if p < worst[0] or worst[2] < 0:
            worst = (p, statistic, i)
    if not tested:
        return _Outcome(None, None, "no position has 5 transitions per symbol")
    return _Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} positions; least uniform: position {worst[2]} (p={format_p(worst[0])})",
    )


def _adjacent(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    columns = prep.columns(rows)
    n = len(rows)
    worst = (1.0, 0.0, -1)
    tested = 0
    for i, j in zip(prep.uniform, prep.uniform[1:], strict=False):
        size = prep.alphabets[i]
        if j != i + 1 or prep.alphabets[j] != size or n < 5 * size:
            continue
        pairs = Counter(zip(columns[i], columns[j], strict=True))
        cells = _difference_counts(pairs, prep.maps[i], prep.maps[j], size)
        statistic, p = chi2_uniform(cells)
        tested += 1
        if p < worst[0] or worst[2] < 0:
            worst = (p, statistic, i)
    if not tested:
        return _Outcome(None, None, "no neighbouring positions with 5 samples per symbol")
    return _Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} position pairs; least uniform: positions {worst[2]}-{worst[2] + 1} "
        f"(p={format_p(worst[0])})",
    )


def _bit_bias(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    stream, width = prep.bits(rows)
    n = len(rows)
    if not width:
        return _Outcome(None, None, "no uniform bits to test")
    worst_p, worst_z, worst_bit = 1.0, 0.0, 0
    root = math.sqrt(n)
    for bit in range(width):
        ones = stream[bit::width].count("1")
        z = (2 * ones - n) / root
        p = two_sided_normal(z)
        if p < worst_p:
            worst_p, worst_z, worst_bit = p, z, bit
    return _Outcome(
        sidak(worst_p, width),
        worst_z,
        f"{width} bits per token; most biased: bit {worst_bit} (p={format_p(worst_p)})",
    )


def _fips_runner(
    prep: _Prepared, name: str, cache: dict[int, fips.FipsSummary]
) -> Callable[[Sequence[str]], _Outcome]:
    # The four tests share one pass over the blocks: ``cache`` holds it, keyed by sample count.
    def run(rows: Sequence[str]) -> _Outcome:
        summary = cache.get(len(rows))
        if summary is None:
            stream, _ = prep.bits(rows)
            summary = fips.run_stream(stream, _FIPS_MAX_BLOCKS)
            cache.clear()
            cache[len(rows)] = summary
        if summary.blocks == 0:
            return _Outcome(None, None, f"needs {fips.BLOCK_BITS} uniform bits")
        failed = summary.failed[name]
        return _Outcome(
            summary.p_values[name],
            float(failed),
            f"{failed} of {summary.blocks} blocks failed",
        )

    return run


def _compression(prep: _Prepared, rows: Sequence[str]) -> _Outcome:
    if not prep.varying:
        return _Outcome(None, None, "nothing varies")
    varying = prep.varying
    if len(varying) == prep.view.length:
        text = "".join(rows)
    else:
        text = "".join("".join(row[i] for i in varying) for row in rows)
    claimed_per_row = sum(math.log2(prep.alphabets[i]) for i in varying)
    return _compression_outcome(text, len(rows), claimed_per_row)


def _compression_outcome(text: str, n: int, claimed_per_row: float) -> _Outcome:
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > _COMPRESS_CAP:
        keep = _COMPRESS_CAP * n // len(data)
        data = data[:_COMPRESS_CAP]
        n = max(keep, 1)
    compressed_bits = 8 * len(zlib.compress(data, 9))
    claimed = claimed_per_row * n
    saved = claimed - compressed_bits
    p = 1.0 if saved <= 1 else 2.0 ** (1.0 - saved)
    return _Outcome(
        p,
        saved,
        f"{compressed_bits / n:.1f} bits per token after compression, "
        f"{claimed_per_row:.1f} if every varying position were uniform",
    )


def _pooled_test_unaligned(charset: Charset) -> _Test:
    def run(tokens: Sequence[str]) -> _Outcome:
        counts = Counter("".join(tokens))
        total = sum(counts.values())
        if total < 5 * charset.size:
            return _Outcome(None, None, f"needs {5 * charset.size} characters")
        statistic, p = chi2_uniform([counts.get(c, 0) for c in charset.symbols])
        return _Outcome(p, statistic, f"{total} characters over {charset.size} symbols")

    return _Test("chars.pooled", "Character frequencies, pooled (chi-square)", 2, run)


def _compression_unaligned(charset: Charset) -> _Test:
    def run(tokens: Sequence[str]) -> _Outcome:
        text = "".join(tokens)
        claimed = len(text) / len(tokens) * math.log2(charset.size)
        return _compression_outcome(text, len(tokens), claimed)

    return _Test("compression", "Compression (zlib)", 10, run)


def _position_stats(prep: _Prepared, alpha: float) -> tuple[PositionStats, ...]:
    rows = prep.view.rows
    n = len(rows)
    per_position_alpha = alpha / max(prep.view.length, 1)
    z = normal_quantile(per_position_alpha)
    out = []
    for i, size in enumerate(prep.alphabets):
        counts = prep.counts(rows, i)
        width = math.log2(size) if size > 1 else 0.0
        shannon = -sum(c / n * math.log2(c / n) for c in counts.values())
        # Miller-Madow: the plug-in estimate is low by about (symbols - 1) / (2n ln 2).
        shannon = min(width, shannon + (len(counts) - 1) / (2.0 * n * math.log(2)))
        tested = size > 1 and n >= 5 * size
        chi_p = transition_p = None
        effective = width
        if tested:
            _, chi_p = _position_chi2(prep, counts, i)
            if n - 1 >= 5 * size:
                transition_p = chi2_uniform(prep.transition_cells(rows, i))[1]
            if chi_p < per_position_alpha:
                top = max(counts.values()) / n
                upper = min(1.0, top + z * math.sqrt(top * (1.0 - top) / max(n - 1, 1)))
                effective = min(width, -math.log2(upper))
        out.append(
            PositionStats(
                position=i,
                alphabet=size,
                distinct=len(counts),
                max_bits=round(width, 3),
                shannon_bits=round(max(shannon, 0.0), 3),
                effective_bits=round(effective, 3),
                tested=tested,
                chi2_p=chi_p,
                transition_p=transition_p,
            )
        )
    return tuple(out)


def _weakness(
    failed: list[tuple[_Test, _Outcome]],
    rows: Sequence[str],
    threshold: float,
    effective: float | None,
) -> Weakness:
    failed.sort(key=lambda item: item[1].p_value if item[1].p_value is not None else 1.0)
    test = failed[0][0]
    needed = _samples_needed(test, rows, threshold)
    evidence = {
        t.name: f"p={format_p(o.p_value)} ({o.detail})" for t, o in failed if o.p_value is not None
    }
    evidence["significance"] = f"{threshold:.2g} per test"
    if effective is not None:
        evidence["effective_bits"] = f"{effective:.1f}"
    names = ", ".join(t.name for t, _ in failed)
    return Weakness(
        kind=WeaknessKind.NON_RANDOM,
        title="tokens fail statistical tests",
        message=(
            f"{len(failed)} statistical test(s) found patterns a uniform generator would "
            f"produce with probability below {threshold:.2g}: {names}. "
            f"The first conclusion needed {needed} samples."
        ),
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        samples_needed=needed,
        location="statistics",
        evidence=evidence,
    )


def _samples_needed(test: _Test, rows: Sequence[str], threshold: float) -> int:
    """The smallest prefix (doubling from the test's minimum) on which ``test`` already fails."""
    n = len(rows)
    size = max(test.min_samples, 2)
    for _ in range(20):
        if size >= n:
            return n
        outcome = test.run(rows[:size])
        if outcome.p_value is not None and outcome.p_value < threshold:
            return size
        size *= 2
    return n
