"""The special functions against closed forms and published critical values."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from keywire.tokens._special import (
    binom_sf,
    chi2_cdf,
    chi2_sf,
    format_p,
    gammainc_lower,
    gammainc_upper,
    normal_sf,
    poisson_sf,
    sidak,
    two_sided_normal,
)


def _q_integer(k: int, x: float) -> float:
    """Q(k, x) for integer k: e^-x * sum_{i<k} x^i / i!."""
    return math.exp(-x) * sum(x**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 20])
@pytest.mark.parametrize("x", [0.01, 0.5, 1.0, 4.0, 10.0, 30.0, 60.0])
def test_upper_gamma_matches_the_closed_form_for_integer_a(k, x):
    assert gammainc_upper(k, x) == pytest.approx(_q_integer(k, x), rel=1e-10, abs=1e-300)
    assert gammainc_lower(k, x) == pytest.approx(1 - _q_integer(k, x), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("x", [0.001, 0.1, 1.0, 3.84, 10.0, 50.0])
def test_chi2_with_one_degree_of_freedom_is_a_normal_tail(x):
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-10)


@pytest.mark.parametrize(
    ("statistic", "df", "p"),
    [
        # Critical values from any chi-square table (NIST/SEMATECH e-Handbook, 1.3.6.7.4).
        (3.841, 1, 0.05),
        (6.635, 1, 0.01),
        (11.070, 5, 0.05),
        (15.086, 5, 0.01),
        (24.996, 15, 0.05),
        (30.578, 15, 0.01),
        (82.529, 63, 0.05),
        (92.010, 63, 0.01),
        (124.342, 100, 0.05),
    ],
)
def test_chi2_critical_values(statistic, df, p):
    assert chi2_sf(statistic, df) == pytest.approx(p, abs=5e-5)
    assert chi2_cdf(statistic, df) == pytest.approx(1 - p, abs=5e-5)


def test_chi2_tails_far_out_do_not_underflow_to_nonsense():
    tiny = chi2_sf(2000.0, 63)
    assert 0.0 <= tiny < 1e-300 or tiny == pytest.approx(0.0, abs=1e-300)
    assert chi2_sf(0.0, 10) == 1.0
    assert chi2_cdf(0.0, 10) == 0.0


@given(st.floats(0.1, 200.0), st.floats(0.0, 400.0))
@example(10.0, 5e-324)  # x/a underflowed to 0 in log(x/a): a math domain error
def test_lower_and_upper_gamma_sum_to_one(a, x):
    assert gammainc_lower(a, x) + gammainc_upper(a, x) == pytest.approx(1.0, abs=1e-12)


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="positive"):
        gammainc_lower(0, 1)
    with pytest.raises(ValueError, match="positive"):
        gammainc_upper(-1, 1)
    with pytest.raises(ValueError, match="degrees"):
        chi2_sf(1.0, 0)
    with pytest.raises(ValueError, match="degrees"):
        chi2_cdf(1.0, 0)


def test_normal_tails():
    assert normal_sf(0.0) == 0.5
    assert normal_sf(1.959963984540054) == pytest.approx(0.025, rel=1e-12)
    assert two_sided_normal(-2.5758293035489) == pytest.approx(0.01, rel=1e-10)


@pytest.mark.parametrize(("k", "n", "p"), [(0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.5), (7, 20, 0.1)])
def test_binomial_tail_matches_a_direct_sum(k, n, p):
    direct = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binom_sf(k, n, p) == pytest.approx(direct, rel=1e-12)


def test_binomial_tail_edges():
    assert binom_sf(11, 10, 0.5) == 0.0
    assert binom_sf(1, 10, 0.0) == 0.0
    assert binom_sf(5, 10, 1.0) == 1.0
    # The monobit bound of FIPS 140-2 is about 3.9 standard deviations out.
    assert 4e-5 < binom_sf(10275, 20000, 0.5) < 6e-5


@pytest.mark.parametrize(("k", "mean"), [(1, 0.5), (3, 2.0), (10, 4.0), (0, 3.0)])
def test_poisson_tail_matches_a_direct_sum(k, mean):
    below = sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))
    assert poisson_sf(k, mean) == pytest.approx(1 - below, rel=1e-10)
    assert poisson_sf(5, 0.0) == 0.0


def test_sidak_correction():
    assert sidak(0.01, 1) == 0.01
    assert sidak(0.01, 10) == pytest.approx(1 - 0.99**10)
    assert sidak(1e-12, 1000) == pytest.approx(1e-9, rel=1e-3)


def test_format_p_never_prints_zero():
    assert format_p(0.0) == "<1e-300"
    assert format_p(0.012345) == "0.0123"
