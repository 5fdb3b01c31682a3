"""The statistical tests themselves (see :mod:`keywire.tokens.stats` for the list, the
samples each needs and how their p-values are combined)."""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Callable, Sequence

from . import fips
from ._alphabet import Charset
from ._special import format_p, sidak, two_sided_normal
from ._stats_base import Outcome, Prepared, StatTest, chi2_uniform, difference_counts

_COMPRESS_CAP = 4 * 1024 * 1024
_FIPS_MAX_BLOCKS = 1000


def positional_tests(prep: Prepared) -> list[StatTest]:
    # Sample counts are quoted for the alphabets the tokens are written in (with few samples
    # the tests read some positions in a narrower alphabet, see Prepared).
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
        StatTest(
            "chars.pooled",
            "Character frequencies, all positions pooled (chi-square)",
            max(1, math.ceil(5 * size / uniform_count)),
            lambda rows: _pooled(prep, rows),
        ),
        StatTest(
            "chars.chi2",
            "Character frequencies per position (chi-square)",
            5 * smallest,
            lambda rows: _per_position(prep, rows),
        ),
        StatTest(
            "chars.transitions",
            "Transitions between successive tokens, per position (chi-square)",
            5 * smallest + 1,
            lambda rows: _transitions(prep, rows),
        ),
        StatTest(
            "chars.adjacent",
            "Neighbouring positions within a token (chi-square)",
            5 * largest,
            lambda rows: _adjacent(prep, rows),
        ),
        StatTest("bits.bias", "Bit bias per bit position", 100, lambda rows: _bit_bias(prep, rows)),
        *(
            StatTest(
                f"fips140-2.{name}",
                f"FIPS 140-2 {name.replace('_', ' ')} test (20,000-bit blocks)",
                math.ceil(fips.BLOCK_BITS / bits_per_row),
                _fips_runner(prep, name, fips_cache),
            )
            for name in ("monobit", "poker", "runs", "long_run")
        ),
        StatTest("compression", "Compression (zlib)", 10, lambda rows: _compression(prep, rows)),
    ]


def _pooled(prep: Prepared, rows: Sequence[str]) -> Outcome:
    if not prep.whole:
        return Outcome(None, None, "no position varies over the full alphabet")
    columns = prep.columns(rows)
    counts: Counter[str] = Counter()
    for i in prep.whole:
        counts.update(columns[i])
    charset = prep.pooled_charset
    size = charset.size
    if sum(counts.values()) < 5 * size:
        return Outcome(None, None, f"needs {5 * size} characters")
    statistic, p = chi2_uniform([counts.get(c, 0) for c in charset.symbols])
    return Outcome(p, statistic, f"{sum(counts.values())} characters over {size} symbols")


def _per_position(prep: Prepared, rows: Sequence[str]) -> Outcome:
    n = len(rows)
    worst = (1.0, 0.0, -1)
    tested = 0
    for i in prep.varying:
        size = prep.alphabets[i]
        if n < 5 * size:
            continue
        statistic, p = position_chi2(prep, prep.counts(rows, i), i)
        tested += 1
        if p < worst[0] or worst[2] < 0:
            worst = (p, statistic, i)
    if not tested:
        return Outcome(None, None, "no position has 5 samples per symbol")
    return Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} positions; least uniform: position {worst[2]} (p={format_p(worst[0])})",
    )


def position_chi2(prep: Prepared, counts: Counter[str], i: int) -> tuple[float, float]:
    mapping = prep.maps[i]
    cells = [0] * prep.alphabets[i]
    for symbol, count in counts.items():
        index = mapping.get(symbol)
        if index is None or index >= len(cells):
            # A symbol outside the position's alphabet: as far from uniform as it gets.
            return math.inf, 0.0
        cells[index] += count
    return chi2_uniform(cells)


def _transitions(prep: Prepared, rows: Sequence[str]) -> Outcome:
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
        return Outcome(None, None, "no position has 5 transitions per symbol")
    return Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} positions; least uniform: position {worst[2]} (p={format_p(worst[0])})",
    )


def _adjacent(prep: Prepared, rows: Sequence[str]) -> Outcome:
    columns = prep.columns(rows)
    n = len(rows)
    worst = (1.0, 0.0, -1)
    tested = 0
    for i, j in zip(prep.uniform, prep.uniform[1:], strict=False):
        size = prep.alphabets[i]
        if j != i + 1 or prep.alphabets[j] != size or n < 5 * size:
            continue
        pairs = Counter(zip(columns[i], columns[j], strict=True))
        cells = difference_counts(pairs, prep.maps[i], prep.maps[j], size)
        statistic, p = chi2_uniform(cells)
        tested += 1
        if p < worst[0] or worst[2] < 0:
            worst = (p, statistic, i)
    if not tested:
        return Outcome(None, None, "no neighbouring positions with 5 samples per symbol")
    return Outcome(
        sidak(worst[0], tested),
        worst[1],
        f"{tested} position pairs; least uniform: positions {worst[2]}-{worst[2] + 1} "
        f"(p={format_p(worst[0])})",
    )


def _bit_bias(prep: Prepared, rows: Sequence[str]) -> Outcome:
    stream, width = prep.bits(rows)
    n = len(rows)
    if not width:
        return Outcome(None, None, "no uniform bits to test")
    worst_p, worst_z, worst_bit = 1.0, 0.0, 0
    root = math.sqrt(n)
    for bit in range(width):
        ones = stream[bit::width].count("1")
        z = (2 * ones - n) / root
        p = two_sided_normal(z)
        if p < worst_p:
            worst_p, worst_z, worst_bit = p, z, bit
    return Outcome(
        sidak(worst_p, width),
        worst_z,
        f"{width} bits per token; most biased: bit {worst_bit} (p={format_p(worst_p)})",
    )


def _fips_runner(
    prep: Prepared, name: str, cache: dict[int, fips.FipsSummary]
) -> Callable[[Sequence[str]], Outcome]:
    # The four tests share one pass over the blocks: ``cache`` holds it, keyed by sample count.
    def run(rows: Sequence[str]) -> Outcome:
        summary = cache.get(len(rows))
        if summary is None:
            stream, _ = prep.bits(rows)
            summary = fips.run_stream(stream, _FIPS_MAX_BLOCKS)
            cache.clear()
            cache[len(rows)] = summary
        if summary.blocks == 0:
            return Outcome(None, None, f"needs {fips.BLOCK_BITS} uniform bits")
        failed = summary.failed[name]
        return Outcome(
            summary.p_values[name],
            float(failed),
            f"{failed} of {summary.blocks} blocks failed",
        )

    return run


def _compression(prep: Prepared, rows: Sequence[str]) -> Outcome:
    if not prep.varying:
        return Outcome(None, None, "nothing varies")
    varying = prep.varying
    if len(varying) == prep.view.length:
        text = "".join(rows)
    else:
        text = "".join("".join(row[i] for i in varying) for row in rows)
    claimed_per_row = sum(math.log2(prep.alphabets[i]) for i in varying)
    return _compression_outcome(text, len(rows), claimed_per_row)


def _compression_outcome(text: str, n: int, claimed_per_row: float) -> Outcome:
    data = text.encode("utf-8", "surrogateescape")
    if len(data) > _COMPRESS_CAP:
        keep = _COMPRESS_CAP * n // len(data)
        data = data[:_COMPRESS_CAP]
        n = max(keep, 1)
    compressed_bits = 8 * len(zlib.compress(data, 9))
    claimed = claimed_per_row * n
    saved = claimed - compressed_bits
    p = 1.0 if saved <= 1 else 2.0 ** (1.0 - saved)
    return Outcome(
        p,
        saved,
        f"{compressed_bits / n:.1f} bits per token after compression, "
        f"{claimed_per_row:.1f} if every varying position were uniform",
    )


def pooled_test_unaligned(charset: Charset) -> StatTest:
    def run(tokens: Sequence[str]) -> Outcome:
        counts = Counter("".join(tokens))
        total = sum(counts.values())
        if total < 5 * charset.size:
            return Outcome(None, None, f"needs {5 * charset.size} characters")
        statistic, p = chi2_uniform([counts.get(c, 0) for c in charset.symbols])
        return Outcome(p, statistic, f"{total} characters over {charset.size} symbols")

    return StatTest("chars.pooled", "Character frequencies, pooled (chi-square)", 2, run)


def compression_unaligned(charset: Charset) -> StatTest:
    def run(tokens: Sequence[str]) -> Outcome:
        text = "".join(tokens)
        claimed = len(text) / len(tokens) * math.log2(charset.size)
        return _compression_outcome(text, len(tokens), claimed)

    return StatTest("compression", "Compression (zlib)", 10, run)
