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

import math
from collections.abc import Sequence

from .._dataclass import dataclass
from .._models import Confidence, Severity
from ._alphabet import Charset, Positional
from ._model import PositionStats, TestResult, Verdict, Weakness, WeaknessKind
from ._special import format_p
from ._stat_tests import (
    compression_unaligned,
    pooled_test_unaligned,
    position_chi2,
    positional_tests,
)
from ._stats_base import Outcome, Prepared, StatTest, chi2_uniform, normal_quantile

__all__ = ["DEFAULT_ALPHA", "StatsResult", "chi2_uniform", "normal_quantile", "run_statistics"]

DEFAULT_ALPHA = 1e-6


@dataclass(frozen=True, kw_only=True)
class StatsResult:
    tests: tuple[TestResult, ...]
    positions: tuple[PositionStats, ...]
    effective_bits: float | None
    weakness: Weakness | None


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
    tests: list[StatTest] = []
    prepared: Prepared | None = None
    if view is not None and view.rows:
        prepared = Prepared(view, alphabets, view.alphabets)
        tests.extend(positional_tests(prepared))
    elif tokens and charset is not None:
        tests.append(pooled_test_unaligned(charset))
        tests.append(compression_unaligned(charset))
    rows: Sequence[str] = view.rows if view is not None else tokens
    n = len(rows)
    outcomes = [(test, test.run(rows) if n >= test.min_samples else None) for test in tests]
    ran = [o for _, o in outcomes if o is not None and o.p_value is not None]
    threshold = alpha / max(len(ran), 1)
    results = []
    failed: list[tuple[StatTest, Outcome]] = []
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


def _position_stats(prep: Prepared, alpha: float) -> tuple[PositionStats, ...]:
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
            _, chi_p = position_chi2(prep, counts, i)
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
    failed: list[tuple[StatTest, Outcome]],
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


def _samples_needed(test: StatTest, rows: Sequence[str], threshold: float) -> int:
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
