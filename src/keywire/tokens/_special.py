"""The few special functions the token tests need, in pure Python.

keywire does not depend on SciPy or NumPy: a chi-square p-value is the regularized upper
incomplete gamma function Q(k/2, x/2), computed here with the series and continued fraction of
*Numerical Recipes* §6.2 (accurate to ~1e-14 relative, far beyond what a significance level needs).

>>> round(chi2_sf(3.841458820694124, 1), 6)
0.05
>>> round(normal_sf(1.959963984540054) * 2, 6)
0.05
"""

from __future__ import annotations

import math

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def _gamma_series(a: float, x: float) -> float:
    """P(a, x) by its power series; converges fast for x < a + 1."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_ITER):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction (modified Lentz); converges fast for x > a + 1."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
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
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


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
