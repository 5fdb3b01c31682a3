"""The hand-written special functions held to SciPy's over a grid of arguments.

keywire keeps SciPy out of its install (``tokens/_special.py`` is pure Python); SciPy is a test
dependency so that every verdict's p-value is checked against an independent implementation,
including the far tails the verdicts compare with alpha = 1e-6 split over hundreds of tests.
Values SciPy itself cannot represent (under 1e-290) are left out of the comparison.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext
from fractions import Fraction

import pytest
from scipy import special, stats

from keywire.tokens._special import (
    binom_sf,
    chi2_cdf,
    chi2_sf,
    gammainc_lower,
    gammainc_upper,
    normal_sf,
    poisson_sf,
    two_sided_normal,
)

# Shape parameters from tiny to 1e7 (chi-square with millions of degrees of freedom, Poisson
# means of a million), and x from far below a to far above it, through x = a where the series
# and the continued fraction both need the most terms.
SHAPES = [1e-3, 0.1, 0.5, 1, 2.5, 7.5, 9.99, 10, 15, 50, 127.5, 500, 2000, 1e4, 1e5, 1e6, 1e7]
RATIOS = [1e-6, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1, 1.001, 1.01, 1.1, 1.5, 2, 3, 5, 10, 30]
REL = 1e-8
FLOOR = 1e-290


def _close(got: float, want: float, rel: float = REL) -> None:
    want = float(want)
    if want < FLOOR:
        assert got < 1e-280
        return
    assert got == pytest.approx(want, rel=rel), (got, want)


@pytest.mark.parametrize("a", SHAPES)
def test_incomplete_gamma_matches_scipy(a):
    for ratio in RATIOS:
        x = a * ratio
        _close(gammainc_lower(a, x), special.gammainc(a, x))
        _close(gammainc_upper(a, x), special.gammaincc(a, x))


def _lower_gamma_reference(a: int, x: int) -> float:
    """P(a, x) for integers, to 40 digits with :mod:`decimal`: the series of NR 6.2.5 and
    Stirling's series with five Bernoulli terms for log Gamma(a) (a >= 1e5, so far past need)."""
    getcontext().prec = 60
    big_a, big_x = Decimal(a), Decimal(x)
    pi = Decimal("3.14159265358979323846264338327950288419716939937510")
    log_gamma = (big_a - Decimal("0.5")) * big_a.ln() - big_a + (2 * pi).ln() / 2
    bernoulli = [
        Fraction(1, 6),
        Fraction(-1, 30),
        Fraction(1, 42),
        Fraction(-1, 30),
        Fraction(5, 66),
    ]
    for k, b in enumerate(bernoulli, start=1):
        log_gamma += (
            Decimal(b.numerator)
            / Decimal(b.denominator)
            / (Decimal(2 * k * (2 * k - 1)) * big_a ** (2 * k - 1))
        )
    term = total = 1 / big_a
    denominator = big_a
    for _ in range(1_000_000):
        denominator += 1
        term *= big_x / denominator
        total += term
        if term < total * Decimal("1e-45"):
            break
    return float(total * (big_a * big_x.ln() - big_x - log_gamma).exp())


def test_large_shape_near_its_mean_regression():
    """At a = 1e7 the series was cut off after 10,000 terms and the common factor lost digits
    to cancellation: P(1e7, 1e7) came out 0.49926 instead of 0.50004. Checked against a
    40-digit reference, because SciPy is itself off in the 6th digit for the Poisson tail."""
    assert gammainc_lower(10_000_000, 10_000_000) == pytest.approx(
        _lower_gamma_reference(10_000_000, 10_000_000), rel=1e-11
    )
    assert poisson_sf(1_005_001, 1e6) == pytest.approx(
        _lower_gamma_reference(1_005_001, 1_000_000), rel=1e-11
    )
    # Where SciPy is accurate it agrees too.
    assert gammainc_upper(1e7, 1e7) == pytest.approx(special.gammaincc(1e7, 1e7), rel=1e-10)


@pytest.mark.parametrize("df", [1, 2, 3, 7, 15, 31, 63, 255, 1023, 4095, 65535])
def test_chi_square_tails_match_scipy(df):
    # From 5 standard deviations below the mean to 40 above it: the per-position and pooled
    # chi-square tests of tokens.stats compare p-values far out in the upper tail.
    for z in (-5, -3, 0, 3, 5, 8, 12, 20, 40):
        x = df + z * math.sqrt(2 * df)
        if x <= 0:
            continue
        _close(chi2_sf(x, df), stats.chi2.sf(x, df))
        _close(chi2_cdf(x, df), stats.chi2.cdf(x, df))


def test_fips_poker_bounds_match_scipy():
    # tokens.fips: the poker test's acceptance interval (FIPS 140-2, 15 degrees of freedom).
    from keywire.tokens.fips import POKER_BOUNDS

    low, high = POKER_BOUNDS
    _close(chi2_cdf(low, 15), stats.chi2.cdf(low, 15))
    _close(chi2_sf(high, 15), stats.chi2.sf(high, 15))


@pytest.mark.parametrize("n", [1, 10, 100, 1000, 20_000, 100_000])
@pytest.mark.parametrize("p", [1e-6, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.999])
def test_binomial_tail_matches_scipy(n, p):
    sd = math.sqrt(n * p * (1 - p))
    ks = {0, 1, 2, int(n * p), int(n * p) + 1, int(n * p + 3 * sd) + 1}
    ks |= {int(n * p + 10 * sd) + 1, int(n * p + 30 * sd) + 1, n // 2, n}
    for k in sorted(k for k in ks if k <= n):
        _close(binom_sf(k, n, p), stats.binom.sf(k - 1, n, p))


def test_fips_monobit_tail_matches_scipy():
    # tokens.fips: 20,000-bit blocks, p = 1/2, around and beyond the FIPS monobit bounds.
    for high in (10_000, 10_100, 10_275, 10_346, 10_500, 11_000, 12_000):
        _close(binom_sf(high, 20_000, 0.5), stats.binom.sf(high - 1, 20_000, 0.5))


# Means of a million are checked against the decimal reference above: SciPy's own Poisson tail
# is off by 5e-6 relative there (pdtrc(1005000, 1e6)).
@pytest.mark.parametrize("mean", [1e-3, 0.1, 1, 5, 50, 500, 1e4, 1e5])
def test_poisson_tail_matches_scipy(mean):
    sd = math.sqrt(mean)
    ks = {1, 2, int(mean), int(mean) + 1, int(mean + 5 * sd) + 1, int(mean + 20 * sd) + 1}
    for k in sorted(k for k in ks if k >= 1):
        _close(poisson_sf(k, mean), stats.poisson.sf(k - 1, mean))


@pytest.mark.parametrize("z", [-8.0, -2.0, 0.0, 1.0, 1.959963984540054, 5.0, 10.0, 30.0])
def test_normal_tails_match_scipy(z):
    _close(normal_sf(z), stats.norm.sf(z), rel=1e-12)
    _close(two_sided_normal(z), 2 * stats.norm.sf(abs(z)), rel=1e-12)
