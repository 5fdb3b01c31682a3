"""The four statistical tests of FIPS 140-2 (§4.9.1, 2001), on 20,000-bit blocks.

Each block passes or fails each test by the standard's fixed bounds:

* monobit: the number of ones X satisfies 9725 < X < 10275;
* poker: with f(i) the counts of the 5000 4-bit values, X = 16/5000 * sum f(i)^2 - 5000
  satisfies 2.16 < X < 46.17;
* runs: the runs (maximal sequences of identical bits) of each length, counted separately for
  zeros and ones, fall within 2315-2685 (length 1), 1114-1386 (2), 527-723 (3), 240-384 (4),
  103-209 (5) and 103-209 (6 and longer);
* long run: no run of 26 or more identical bits.

A perfect generator fails a block now and then, so keywire does not call a stream weak because one
block failed: it compares the number of failing blocks with the rate :data:`FALSE_FAILURE` at
which random blocks fail (a binomial tail gives the p-value).

>>> run_block("01" * 10_000).monobit  # balanced, yet...
True
>>> run_block("01" * 10_000).runs  # ...10,000 runs of length 1 are far too many
False
"""

from __future__ import annotations

import functools
import math

from .._dataclass import dataclass
from ._special import binom_sf, chi2_cdf, chi2_sf

BLOCK_BITS = 20_000
MONOBIT_BOUNDS = (9725, 10275)
POKER_BOUNDS = (2.16, 46.17)
RUNS_BOUNDS = {
    1: (2315, 2685),
    2: (1114, 1386),
    3: (527, 723),
    4: (240, 384),
    5: (103, 209),
    6: (103, 209),
}
LONG_RUN = 26


@dataclass(frozen=True, kw_only=True)
class BlockResult:
    monobit: bool
    poker: bool
    runs: bool
    long_run: bool
    ones: int
    poker_x: float
    longest_run: int


def _runs(x: int) -> tuple[dict[int, int], int]:
    """Counts of runs of ones of length >= 1..7 in ``x``, and its longest run (capped at 26).

    ``y`` holds the bits that start ``i`` consecutive ones; every run of length >= i leaves one
    contiguous group of such bits, and groups of different runs never touch.
    """
    at_least: dict[int, int] = {}
    y = x
    i = 1
    while y and i <= LONG_RUN:
        if i <= 7:
            at_least[i] = (y & ~(y << 1)).bit_count()
        y &= x >> i
        i += 1
    return at_least, i - 1


def run_block(bits: str) -> BlockResult:
    """Run the four tests on one block of exactly 20,000 '0'/'1' characters."""
    if len(bits) != BLOCK_BITS:
        raise ValueError(f"a FIPS 140-2 block is {BLOCK_BITS} bits, not {len(bits)}")
    return run_block_int(int(bits, 2))


def run_block_int(x: int) -> BlockResult:
    """:func:`run_block` on a block given as an integer (its most significant bit first)."""
    mask = (1 << BLOCK_BITS) - 1
    ones = x.bit_count()
    hexed = x.to_bytes(BLOCK_BITS // 8, "big").hex()
    poker_x = 16.0 / 5000.0 * sum(hexed.count(c) ** 2 for c in "0123456789abcdef") - 5000.0
    runs_ok = True
    longest = 0
    for value in (x, ~x & mask):
        at_least, run = _runs(value)
        longest = max(longest, run)
        for length, (low, high) in RUNS_BOUNDS.items():
            count = at_least.get(length, 0)
            if length < 6:
                count -= at_least.get(length + 1, 0)
            if not low <= count <= high:
                runs_ok = False
    return BlockResult(
        monobit=MONOBIT_BOUNDS[0] < ones < MONOBIT_BOUNDS[1],
        poker=POKER_BOUNDS[0] < poker_x < POKER_BOUNDS[1],
        runs=runs_ok,
        long_run=longest < LONG_RUN,
        ones=ones,
        poker_x=poker_x,
        longest_run=longest,
    )


@functools.cache
def false_failure_rates() -> dict[str, float]:
    """How often a block of perfectly random bits fails each test.

    Monobit is an exact binomial tail and poker the chi-square (15 degrees of freedom) tails.
    A run of 26 or more starts at a given bit with probability 2^-26 (either value, after a
    change), so long run fails about 20,000 * 2^-26 of the time. The runs test has no simple
    closed form: keywire measured 24 failures in 100,000 blocks of ``os.urandom`` output (2.4e-4)
    and uses 1e-3, four times that, so that the aggregate test stays conservative.
    """
    low, high = MONOBIT_BOUNDS
    monobit = 2.0 * binom_sf(high, BLOCK_BITS, 0.5)
    assert low == BLOCK_BITS - high
    poker = chi2_cdf(POKER_BOUNDS[0], 15) + chi2_sf(POKER_BOUNDS[1], 15)
    long_run = -math.expm1(BLOCK_BITS * math.log1p(-(2.0**-LONG_RUN)))
    return {"monobit": monobit, "poker": poker, "runs": 1e-3, "long_run": long_run}


@dataclass(frozen=True, kw_only=True)
class FipsSummary:
    """How many of ``blocks`` failed each test, and the p-value of that many failures."""

    blocks: int
    failed: dict[str, int]
    p_values: dict[str, float]


def run_stream(bits: str, max_blocks: int | None = None) -> FipsSummary:
    """Run FIPS 140-2 on every whole 20,000-bit block of ``bits`` (at most ``max_blocks``)."""
    count = len(bits) // BLOCK_BITS
    if max_blocks is not None:
        count = min(count, max_blocks)
    failed = {"monobit": 0, "poker": 0, "runs": 0, "long_run": 0}
    for i in range(count):
        result = run_block(bits[i * BLOCK_BITS : (i + 1) * BLOCK_BITS])
        failed["monobit"] += not result.monobit
        failed["poker"] += not result.poker
        failed["runs"] += not result.runs
        failed["long_run"] += not result.long_run
    rates = false_failure_rates()
    p_values = {name: binom_sf(failed[name], count, rates[name]) for name in failed}
    return FipsSummary(blocks=count, failed=failed, p_values=p_values)
