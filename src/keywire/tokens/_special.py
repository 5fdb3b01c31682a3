"""The few special functions the token tests need, in pure Python.

keywire does not depend on SciPy or NumPy: a chi-square p-value is the regularized upper
incomplete gamma function Q(k/2, x/2), computed here with the series and continued fraction of
*Numerical Recipes* §6.2. Both need about sqrt(a) terms near x = a, so the iteration cap grows
with ``a``; and the common factor x^a e^-x / Gamma(a) is taken in log space through Stirling's
series for large ``a`` (the direct ``a*log(x) - x - lgamma(a)`` cancels catastrophically there:
at a = 1e7 it lost three significant digits). ``tests/tokens/test_special_scipy.py`` holds the
functions to SciPy's over a grid of arguments, deep tails included (relative error under 1e-9).

>>> round(chi2_sf(3.841458820694124, 1), 6)
0.05
>>> round(normal_sf(1.959963984540054) * 2, 6)
0.05
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MIN_ITER = 10_000
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _max_iter(a: float) -> int:
    """Enough terms for the series or the fraction: near x = a both need a few times sqrt(a)."""
    return _MIN_ITER + int(40.0 * math.sqrt(a))


def _log1p_minus(d: float) -> float:
    """log(1 + d) - d for |d| < 0.1, by its series (the direct form cancels there)."""
    # -d^2/2 + d^3/3 - d^4/4 ...: |d| < 0.1, so 30 terms are far below double precision.
    total, power = 0.0, d * d
    for k in range(2, 32):
        total += (power / k) if k % 2 else -(power / k)
        power *= d
    return total


def _stirling_tail(a: float) -> float:
    """lgamma(a) - ((a - 1/2) log a - a + log sqrt(2 pi)), for a >= 10."""
    inverse = 1.0 / a
    square = inverse * inverse
    return inverse * (
        1.0 / 12.0 - square * (1.0 / 360.0 - square * (1.0 / 1260.0 - square * (1.0 / 1680.0)))
    )


def _log_prefix(a: float, x: float) -> float:
    """log(x^a e^-x / Gamma(a)), the factor the series and the fraction share."""
    if a < 10.0:
        return a * math.log(x) - x - math.lgamma(a)
    # a log x - x - lgamma(a) = a (log(x/a) - (x-a)/a) + (a log a - a - lgamma(a)); the first
    # part is small near x = a and computed there without cancellation, the second by Stirling.
    d = (x - a) / a
    near = a * _log1p_minus(d) if abs(d) < 0.1 else a * (math.log(x) - math.log(a)) - (x - a)
    return near + 0.5 * math.log(a) - _LOG_SQRT_2PI - _stirling_tail(a)


def _gamma_series(a: float, x: float) -> float:
    """P(a, x) by its power series; converges fast for x < a + 1."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_max_iter(a)):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(_log_prefix(a, x))


def _gamma_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz); converges fast for x > a + 1."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _max_iter(a)):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(_log_prefix(a, x)) * h


def gammainc_lower(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x) (``scipy.special.gammainc``)."""
    if a <= 0:
        raise ValueError("a must be positive")
    if x <= 0:
        return 0.0
    if x < a + 1.0:
        return min(1.0, _gamma_series(a, x))
    return max(0.0, 1.0 - _gamma_fraction(a, x))


def gammainc_upper(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    if a <= 0:
        raise ValueError("a must be positive")
    if x <= 0:
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return min(1.0, _gamma_fraction(a, x))


def chi2_sf(statistic: float, df: float) -> float:
    """P(X >= statistic) for X chi-square distributed with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    return gammainc_upper(df / 2.0, statistic / 2.0)


def chi2_cdf(statistic: float, df: float) -> float:
    """P(X <= statistic) for X chi-square distributed with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    return gammainc_lower(df / 2.0, statistic / 2.0)


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def two_sided_normal(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def poisson_sf(k: int, mean: float) -> float:
    """P(X >= k) for X Poisson distributed with the given mean."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    return gammainc_lower(float(k), mean)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly in log space (fine for n up to ~1e7)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n_fact = math.lgamma(n + 1)
    total = 0.0
    for i in range(k, n + 1):
        log_term = log_n_fact - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p
        log_term += (n - i) * log_q
        term = math.exp(log_term)
        total += term
        # Past the mode the terms only shrink; stop once they no longer matter.
        if i > n * p and term < total * 1e-17:
            break
    return min(1.0, total)


def sidak(p_value: float, tests: int) -> float:
    """The family-wise p-value of the smallest of ``tests`` independent p-values (Šidák)."""
    if tests <= 1:
        return p_value
    # 1 - (1 - p)^m, computed without cancellation for tiny p.
    return -math.expm1(tests * math.log1p(-min(p_value, 1.0 - 1e-16)))


def format_p(p_value: float) -> str:
    """A p-value for people: three significant digits, and no "0" for an underflow."""
    if p_value <= 0.0:
        return "<1e-300"
    return f"{p_value:.3g}"
