"""FIPS 140-2 statistical tests: the bounds of the standard, at and beside each edge."""

from __future__ import annotations

import random

import pytest

from keywire.tokens import fips

BLOCK = fips.BLOCK_BITS


def _reference_block() -> str:
    # A deterministic stand-in for a good generator's block (this seed passes all four tests).
    return format(random.Random(7).getrandbits(BLOCK), f"0{BLOCK}b")


def _with_ones(count: int) -> str:
    """A block of ``count`` ones spread evenly (only its monobit verdict matters)."""
    bits = ["0"] * BLOCK
    step = BLOCK / count
    for i in range(count):
        bits[int(i * step)] = "1"
    return "".join(bits)


def test_a_good_block_passes_every_test():
    result = fips.run_block(_reference_block())
    assert (result.monobit, result.poker, result.runs, result.long_run) == (True, True, True, True)
    assert 9725 < result.ones < 10275
    assert 2.16 < result.poker_x < 46.17
    assert result.longest_run < 26


@pytest.mark.parametrize(
    ("ones", "passes"), [(9725, False), (9726, True), (10274, True), (10275, False)]
)
def test_monobit_bounds_are_strict(ones, passes):
    result = fips.run_block(_with_ones(ones))
    assert result.ones == ones
    assert result.monobit is passes


def test_poker_statistic_matches_its_definition():
    block = _reference_block()
    nibbles = [int(block[i : i + 4], 2) for i in range(0, BLOCK, 4)]
    counts = [nibbles.count(v) for v in range(16)]
    expected = 16 / 5000 * sum(c * c for c in counts) - 5000
    assert fips.run_block(block).poker_x == pytest.approx(expected)


def test_poker_fails_on_too_regular_and_too_skewed_blocks():
    # Every nibble value 312 or 313 times: X = 16/5000 * 8 * (313^2 + 312^2) - 5000 = 0.0128.
    regular = "".join(format(i % 16, "04b") for i in range(5000))
    assert fips.run_block(regular).poker_x == pytest.approx(0.0128)
    assert not fips.run_block(regular).poker
    assert not fips.run_block("0001" * 5000).poker


def test_runs_fail_on_alternating_bits_although_monobit_passes():
    result = fips.run_block("01" * (BLOCK // 2))
    assert result.monobit
    assert not result.runs
    assert result.longest_run == 1


def _alternating_with_run(length: int) -> str:
    half = (BLOCK - length) // 2
    head = ("01" * BLOCK)[:half]
    if head.endswith("1"):
        head = head[:-1] + "0"
    tail = ("01" * BLOCK)[: BLOCK - half - length]
    block = head + "1" * length + "0" + tail[1:]
    return block[:BLOCK]


@pytest.mark.parametrize(("length", "passes"), [(25, True), (26, False), (40, False)])
def test_long_run_bound(length, passes):
    block = _alternating_with_run(length)
    assert len(block) == BLOCK
    result = fips.run_block(block)
    assert result.longest_run == min(length, fips.LONG_RUN)
    assert result.long_run is passes


def test_run_counts_agree_with_a_naive_count():
    block = _reference_block()
    from collections import Counter

    for bit, other in (("1", "0"), ("0", "1")):
        naive = Counter(min(len(r), 6) for r in block.split(other) if r)
        at_least, _ = fips._runs(
            int(block, 2) if bit == "1" else int(block.translate(str.maketrans("01", "10")), 2)
        )
        exact = {
            i: at_least.get(i, 0) - (at_least.get(i + 1, 0) if i < 6 else 0) for i in range(1, 7)
        }
        assert exact == {i: naive.get(i, 0) for i in range(1, 7)}


def test_blocks_must_be_20000_bits():
    with pytest.raises(ValueError, match="20000"):
        fips.run_block("01" * 100)


def test_false_failure_rates_are_small_and_documented():
    rates = fips.false_failure_rates()
    assert rates["monobit"] == pytest.approx(1.03e-4, rel=0.02)
    assert rates["poker"] == pytest.approx(1e-4, rel=0.05)
    assert rates["long_run"] == pytest.approx(20000 * 2**-26, rel=0.01)
    assert rates["runs"] == 1e-3


def test_stream_aggregates_failures_against_the_false_failure_rate():
    good = "".join(
        format(random.Random(seed).getrandbits(BLOCK), f"0{BLOCK}b") for seed in range(3)
    )
    summary = fips.run_stream(good + "0101")  # a partial block is ignored
    assert summary.blocks == 3
    assert summary.p_values["monobit"] == 1.0
    bad = "01" * (BLOCK * 3 // 2)
    failing = fips.run_stream(bad)
    assert failing.failed["runs"] == 3
    assert failing.p_values["runs"] < 1e-8
    assert fips.run_stream(good, max_blocks=1).blocks == 1
