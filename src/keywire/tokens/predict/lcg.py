"""Linear congruential generators, and glibc's additive feedback ``random()``.

* **Unknown parameters, full output** (``x = (a*x + c) % m``, the state is the token): the
  differences t[i] = x[i+1] - x[i] satisfy t[i+2]*t[i] - t[i+1]^2 = 0 (mod m), so m is the gcd of
  a few of those; then a = t[1]/t[0] (mod m) and c = x[1] - a*x[0] (mod m). Six outputs usually
  suffice. This covers glibc's ``TYPE_0`` ``rand()`` (a=1103515245, c=12345, m=2^31), ``minstd``
  and home-made LCGs.
* **Java** ``java.util.Random`` (a=0x5DEECE66D, c=11, m=2^48) shows the top 32 bits of its state
  per ``nextInt()`` (and two such per ``nextLong()``); the 16 hidden bits are found by trying all
  65,536 values against the next output.
* **MSVC** ``rand()`` (a=214013, c=2531011, m=2^32) shows bits 16-30: 2^17 candidates per output.
* **glibc** ``random()`` (the default ``TYPE_3``) is additive: o[i] = o[i-31] + o[i-3] (mod 2^31),
  sometimes plus one.

Every recovered generator is then checked against outputs it was not fitted to.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ..._dataclass import dataclass

JAVA_A, JAVA_C, JAVA_BITS = 0x5DEECE66D, 0xB, 48
MSVC_A, MSVC_C = 214013, 2531011
_MAX_A_CANDIDATES = 4096


@dataclass(frozen=True, kw_only=True)
class Lcg:
    """A recovered generator: ``predict()`` continues it after the outputs it was fitted to."""

    name: str
    parameters: dict[str, str]
    fitted: int  # outputs used to find the parameters
    verified: int  # further outputs it then predicted
    upcoming: tuple[int, ...]  # the next outputs, in the token's own units


def _inverse(value: int, modulus: int) -> int | None:
    try:
        return pow(value, -1, modulus)
    except ValueError:
        return None


def solve_full(values: Sequence[int], *, upcoming: int = 3) -> Lcg | None:
    """Find (a, c, m) with x[i+1] = (a*x[i] + c) mod m for every consecutive pair, if any."""
    x = list(values)
    if len(x) < 6:
        return None
    t = [b - a for a, b in itertools.pairwise(x)]
    if all(d == t[0] for d in t):
        return None  # an arithmetic sequence is a counter, not worth calling an LCG
    modulus = 0
    for i in range(len(t) - 2):
        modulus = math.gcd(modulus, t[i + 2] * t[i] - t[i + 1] * t[i + 1])
    modulus = abs(modulus)
    if modulus <= max(x) or modulus < 2:
        return None
    fitting = _fit(x, t, modulus, upcoming)
    if not fitting:
        return None
    # The gcd can be a multiple of the real modulus, and a divisor of it can fit the outputs
    # seen so far too. Several multipliers can also fit (moduli with many factors of two). A
    # prediction is only made when every generator that fits agrees on what comes next; the
    # parameters reported are those with the smallest modulus.
    predictions = {f[2] for f in fitting}
    for prime in _SMALL_PRIMES:
        while modulus % prime == 0 and modulus // prime > max(x):
            smaller = _fit(x, t, modulus // prime, upcoming)
            if not smaller:
                break
            modulus, fitting = modulus // prime, smaller
            predictions.update(f[2] for f in smaller)
    if len(predictions) != 1:
        return None
    a, c, following = fitting[0]
    return Lcg(
        name=_name_full(a, c, modulus),
        parameters={"a": str(a), "c": str(c), "m": str(modulus)},
        fitted=6,
        verified=len(x) - 6,
        upcoming=following,
    )


_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def _fit(
    x: Sequence[int], t: Sequence[int], modulus: int, upcoming: int
) -> list[tuple[int, int, tuple[int, ...]]]:
    """Every (a, c) reproducing all of ``x`` modulo ``modulus``, with what each predicts."""
    for i in range(len(t) - 1):
        g = math.gcd(t[i], modulus)
        if g > _MAX_A_CANDIDATES or t[i + 1] % g:
            continue
        reduced = modulus // g
        inverse = _inverse((t[i] // g) % reduced, reduced)
        if inverse is None:
            continue
        base = (t[i + 1] // g) * inverse % reduced
        fitting = []
        for k in range(g):
            a = base + k * reduced
            c = (x[i + 1] - a * x[i]) % modulus
            if all((a * p + c) % modulus == q for p, q in itertools.pairwise(x)):
                fitting.append((a, c, _continue(a, c, modulus, x[-1], upcoming)))
        return fitting
    return []


def _continue(a: int, c: int, modulus: int, state: int, count: int) -> tuple[int, ...]:
    out = []
    for _ in range(count):
        state = (a * state + c) % modulus
        out.append(state)
    return tuple(out)


def _name_full(a: int, c: int, m: int) -> str:
    known = {
        (1103515245, 12345, 1 << 31): "glibc rand() TYPE_0 LCG",
        (16807, 0, (1 << 31) - 1): "minstd_rand0 LCG",
        (48271, 0, (1 << 31) - 1): "minstd_rand LCG",
        (MSVC_A, MSVC_C, 1 << 32): "MSVC LCG (full state)",
        (1664525, 1013904223, 1 << 32): "Numerical Recipes LCG",
    }
    return known.get((a, c, m), "linear congruential generator")


def solve_java(words: Sequence[int], *, per_token: int, upcoming: int = 3) -> Lcg | None:
    """Recover ``java.util.Random`` from consecutive ``next(32)`` outputs (unsigned words)."""
    if len(words) < 3:
        return None
    mask = (1 << JAVA_BITS) - 1
    first, second = words[0], words[1]
    for low in range(1 << 16):
        seed = (first << 16) | low
        following = (seed * JAVA_A + JAVA_C) & mask
        if following >> 16 != second:
            continue
        state = following
        ok = True
        for observed in words[2:]:
            state = (state * JAVA_A + JAVA_C) & mask
            if state >> 16 != observed:
                ok = False
                break
        if not ok:
            continue
        out = []
        for _ in range(upcoming * per_token):
            state = (state * JAVA_A + JAVA_C) & mask
            out.append(state >> 16)
        tokens = [_java_join(out[i : i + per_token]) for i in range(0, len(out), per_token)]
        return Lcg(
            name="java.util.Random" + (" nextLong()" if per_token == 2 else " nextInt()"),
            parameters={"a": hex(JAVA_A), "c": hex(JAVA_C), "m": "2^48", "output": "bits 16-47"},
            fitted=2,
            verified=len(words) - 2,
            upcoming=tuple(tokens),
        )
    return None


def _java_join(words: Sequence[int]) -> int:
    def signed(w: int) -> int:
        return w - (1 << 32) if w >> 31 else w

    if len(words) == 1:
        return signed(words[0])
    return (signed(words[0]) << 32) + signed(words[1])


def solve_msvc(values: Sequence[int], *, upcoming: int = 3) -> Lcg | None:
    """Recover MSVC ``rand()`` (15-bit outputs) by trying the 2^17 hidden state bits."""
    if len(values) < 4 or max(values) > 0x7FFF:
        return None
    mask = 0xFFFFFFFF
    first = values[0]
    for hidden in range(1 << 17):
        state = ((hidden >> 16) << 31) | (first << 16) | (hidden & 0xFFFF)
        ok = True
        for observed in values[1:]:
            state = (state * MSVC_A + MSVC_C) & mask
            if (state >> 16) & 0x7FFF != observed:
                ok = False
                break
        if ok:
            out = []
            for _ in range(upcoming):
                state = (state * MSVC_A + MSVC_C) & mask
                out.append((state >> 16) & 0x7FFF)
            return Lcg(
                name="MSVC rand()",
                parameters={
                    "a": str(MSVC_A),
                    "c": str(MSVC_C),
                    "m": "2^32",
                    "output": "bits 16-30",
                },
                fitted=2,
                verified=len(values) - 2,
                upcoming=tuple(out),
            )
    return None


def solve_glibc_random(values: Sequence[int], *, upcoming: int = 3) -> Lcg | None:
    """glibc ``random()``: every output is the sum of the outputs 31 and 3 places back (mod 2^31),
    give or take one. Needs 31 outputs to start and checks every later one."""
    x = list(values)
    if len(x) < 41 or max(x) >= 1 << 31:
        return None
    modulus = 1 << 31
    for i in range(31, len(x)):
        if (x[i] - x[i - 31] - x[i - 3]) % modulus not in (0, 1):
            return None
    out = []
    for _ in range(upcoming):
        x.append((x[-31] + x[-3]) % modulus)
        out.append(x[-1])
    return Lcg(
        name="glibc random() (additive feedback, TYPE_3)",
        parameters={"recurrence": "o[i] = o[i-31] + o[i-3] (+1) mod 2^31"},
        fitted=31,
        verified=len(values) - 31,
        upcoming=tuple(out),
    )
