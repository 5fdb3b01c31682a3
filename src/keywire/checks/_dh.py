"""How strong a server's finite-field DH group really is: prime, safe prime, generator's order.

The size of the prime is what clients see; its strength depends on more. A composite modulus
(a backdoor, or a broken generator) makes the discrete logarithm easy; a generator whose order
has only small prime factors confines every key to a small subgroup, where Pohlig-Hellman
recovers it in seconds whatever the size of the prime. This module decides, with bounded work:

- **primality**: Baillie-PSW (Miller-Rabin to base 2 and a strong Lucas test): deterministic,
  and no composite is known to pass it (above 4096 bits, Miller-Rabin to base 2 alone);
- **safe prime** (p = 2q + 1, q prime: Miller-Rabin to base 2), which leaves only subgroups of
  orders 1, 2, q and 2q;
- **the generator's order** otherwise: p - 1 is partly factored (trial division, then Pollard's
  p - 1 method within a time budget) and the order of g reduced by every factor found; when
  nothing is left unfactored, the order and its largest prime factor are known exactly.

Well-known groups (RFC 7919 ffdhe, RFC 3526 MODP, RFC 5114) are recognised by the digest of
their prime and need no arithmetic. Pure functions of (p, g): no I/O, results cached.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time

from .._dataclass import dataclass

#: A generator whose order's largest prime factor is below this many bits is "small subgroup":
#: Pollard's rho in a subgroup of q elements costs about sqrt(q), 2^80 at 160 bits.
SMALL_SUBGROUP_BITS = 160
TRIAL_LIMIT = 1 << 16
POLLARD_BOUND = 4_000
BUDGET_SECONDS = 3.0
LUCAS_MAX_BITS = 4096

# sha256(prime)[:32] -> (name, order of the generator's subgroup when not (p - 1) / 2)
_KNOWN: dict[str, tuple[str, int | None]] = {
    "9cd3b7f336872f46c09428d1bbc19877": ("ffdhe2048", None),
    "0eaf67db3a839156d5013494a5318a77": ("ffdhe3072", None),
    "4648414224ac881b3d0dc59b466f96d0": ("ffdhe4096", None),
    "227ac9066b3ddd9e193670cda2388fa8": ("ffdhe6144", None),
    "770b14efaf6f049929c523113b3fa99a": ("ffdhe8192", None),
    "b52ba6a3026520a6c49d37e458760180": ("RFC 2409 Oakley group 1 (768-bit MODP)", None),
    "3f35a3f5f6c4376a744acad409bb22f8": ("RFC 2409 Oakley group 2 (1024-bit MODP)", None),
    "64fcc83ec403930bf18393dbc883ccaa": ("RFC 3526 MODP 1536", None),
    "d66436f79bbd6b2e38c0ffbd079be904": ("RFC 3526 MODP 2048", None),
    "48cf8b092fbce4359d9871abf74f98e2": ("RFC 3526 MODP 3072", None),
    "4ee95187682bcb230ad26a95205f6920": ("RFC 3526 MODP 4096", None),
    "d1bfe6d0925ce7e4da262b62861514a7": ("RFC 3526 MODP 6144", None),
    "39ab4feab950a3128fb71accb9fc3965": ("RFC 3526 MODP 8192", None),
    "44c55cfee5c075927cf682da5b681bde": (
        "RFC 5114 1024-bit with 160-bit subgroup",
        0xF518AA8781A8DF278ABA4E7D64B7CB9D49462353,
    ),
    "bfe545862ca102ad1eeddb5fbfa5bf85": (
        "RFC 5114 2048-bit with 224-bit subgroup",
        0x801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB,
    ),
    "0b7835722cb619827610c2549fdda558": (
        "RFC 5114 2048-bit with 256-bit subgroup",
        0x8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3,
    ),
}


@dataclass(frozen=True, kw_only=True)
class DhAssessment:
    """What keywire established about one group. ``None`` means undecided within the budget."""

    bits: int
    known: str = ""
    prime: bool | None = None
    safe: bool | None = None
    #: Bits of the generator's order and of its largest prime factor, when established.
    order_bits: int | None = None
    largest_factor_bits: int | None = None
    small_subgroup: bool = False
    note: str = ""


def _generator_label(prime: int, generator: int) -> str:
    if generator == prime - 1:
        return "p - 1"
    return f"g = {generator}" if generator < 1 << 32 else f"a {generator.bit_length()}-bit g"


class _OutOfTime(Exception):
    pass


class _Clock:
    def __init__(self, budget: float) -> None:
        self.deadline = time.perf_counter() + budget

    def check(self) -> None:
        if time.perf_counter() > self.deadline:
            raise _OutOfTime


def is_probable_prime(n: int, *, clock: _Clock | None = None, lucas: bool = True) -> bool:
    """Baillie-PSW: trial division, Miller-Rabin to base 2, and a strong Lucas test.

    Deterministic (nothing random to reproduce), and no composite is known to pass it, crafted
    ones included (unlike Miller-Rabin with fixed bases, which "Prime and Prejudice" fools).
    ``lucas=False`` stops after Miller-Rabin to base 2 (a third of the cost): enough to tell
    whether a prime's (p - 1) / 2 is prime, where nobody has crafted anything.

    >>> is_probable_prime(2**127 - 1), is_probable_prime(2**128 + 1), is_probable_prime(3215031751)
    (True, False, False)
    """
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    for small in _small_primes()[:100]:
        if n == small:
            return True
        if n % small == 0:
            return False
    if not _miller_rabin_2(n):
        return False
    if clock is not None:
        clock.check()
    return _strong_lucas(n) if lucas else True


def _miller_rabin_2(n: int) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    x = pow(2, d, n)
    if x in (1, n - 1):
        return True
    for _ in range(s - 1):
        x = x * x % n
        if x == n - 1:
            return True
    return False


def _jacobi(a: int, n: int) -> int:
    a %= n
    result = 1
    while a:
        while a % 2 == 0:
            a //= 2
            if n % 8 in (3, 5):
                result = -result
        a, n = n, a
        if a % 4 == 3 and n % 4 == 3:
            result = -result
        a %= n
    return result if n == 1 else 0


def _strong_lucas(n: int) -> bool:
    """The strong Lucas probable-prime test with Selfridge's parameters (method A)."""
    root = math.isqrt(n)
    if root * root == n:
        return False
    d_param = 5
    while True:
        symbol = _jacobi(d_param, n)
        if symbol == -1:
            break
        if symbol == 0 and abs(d_param) != n:
            return False
        d_param = -d_param - 2 if d_param > 0 else -d_param + 2
    p_param, q_param = 1, (1 - d_param) // 4
    d, s = n + 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    u, v, qk = 1, p_param % n, q_param % n
    for bit in bin(d)[3:]:
        u = u * v % n
        v = (v * v - 2 * qk) % n
        qk = qk * qk % n
        if bit == "1":
            u, v = (p_param * u + v) % n, (d_param * u + p_param * v) % n
            u = (u + n if u % 2 else u) // 2
            v = (v + n if v % 2 else v) // 2
            qk = qk * q_param % n
    if u == 0 or v == 0:
        return True
    for _ in range(s - 1):
        v = (v * v - 2 * qk) % n
        if v == 0:
            return True
        qk = qk * qk % n
    return False


@functools.lru_cache(maxsize=1)
def _small_primes() -> tuple[int, ...]:
    sieve = bytearray([1]) * TRIAL_LIMIT
    sieve[0:2] = b"\0\0"
    for i in range(2, math.isqrt(TRIAL_LIMIT) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, TRIAL_LIMIT, i)))
    return tuple(i for i, flag in enumerate(sieve) if flag)


def _pollard(n: int, bound: int, clock: _Clock) -> tuple[list[int], int]:
    """Pollard's p - 1 over ``n`` in one pass: (factors split off, what is left of ``n``).

    A prime r of ``n`` falls out when r - 1 has no prime power above ``bound``.
    """
    found: list[int] = []
    a = 2
    for index, prime in enumerate(_small_primes()):
        if prime > bound or n == 1:
            break
        power = prime
        while power * prime <= bound:
            power *= prime
        a = pow(a, power, n)
        if index % 128 == 127:
            clock.check()
            g = math.gcd(a - 1, n)
            if 1 < g < n:
                found.append(g)
                n //= g
                a %= n
            elif g == n:
                break  # every factor fell out at once: nothing to tell them apart
    return found, n


def _factor_part(n: int, clock: _Clock) -> tuple[list[int], int]:
    """(factors found, with multiplicity; the unfactored cofactor) of ``n``, within the clock.

    Factors under 2^32 are prime; larger ones split off by Pollard's method may not be (the
    caller only needs their size).
    """
    found: list[int] = []
    for prime in _small_primes():
        if prime * prime > n:
            break
        while n % prime == 0:
            found.append(prime)
            n //= prime
    if n < TRIAL_LIMIT * TRIAL_LIMIT:
        return ([*found, n] if n > 1 else found), 1
    try:
        split, n = _pollard(n, POLLARD_BOUND, clock)
    except _OutOfTime:
        split = []
    found.extend(split)
    return found, n


def _order(p: int, g: int, factors: list[int], rest: int) -> tuple[int, bool]:
    """The order of g as far as ``factors`` tell, and whether ``rest`` (unfactored) is in it.

    Two large exponentiations at most: g^rest leaves an element whose order divides the
    product of the (small) factors, where every further test is cheap.
    """
    smooth = math.prod(factors)
    inside = rest > 1 and pow(g, smooth, p) != 1
    base = pow(g, rest, p) if inside else g
    order = smooth
    for factor in sorted(set(factors), reverse=True):
        while order % factor == 0 and pow(base, order // factor, p) == 1:
            order //= factor
    return (order * rest if inside else order), inside


@functools.lru_cache(maxsize=64)
def assess(prime: int, generator: int, budget: float | None = None) -> DhAssessment:
    """Assess the group (``prime``, ``generator``); see the module docstring.

    >>> assess(23, 2).safe, assess(23, 22).small_subgroup, assess(21, 2).prime
    (True, True, False)
    """
    if budget is None:
        budget = BUDGET_SECONDS
    bits = prime.bit_length()
    size = (bits + 7) // 8
    digest = hashlib.sha256(prime.to_bytes(size, "big")).hexdigest()[:32]
    degenerate = generator <= 1 or generator >= prime - 1 or pow(generator, 2, prime) == 1
    known = _KNOWN.get(digest)
    if known is not None:
        name, q = known
        if degenerate:
            return DhAssessment(
                bits=bits,
                known=name,
                prime=True,
                safe=q is None,
                order_bits=1 if generator in (0, 1) else 2,
                largest_factor_bits=2,
                small_subgroup=True,
                note=f"the generator ({_generator_label(prime, generator)}) has order at most 2",
            )
        if q is None:
            return DhAssessment(bits=bits, known=name, prime=True, safe=True, order_bits=bits - 1)
        inside = pow(generator, q, prime) == 1
        return DhAssessment(
            bits=bits,
            known=name,
            prime=True,
            safe=False,
            order_bits=q.bit_length() if inside else None,
            largest_factor_bits=q.bit_length() if inside else None,
            note=f"a {q.bit_length()}-bit prime-order subgroup"
            if inside
            else "the generator is not in the group's published subgroup",
        )
    clock = _Clock(budget)
    try:
        # Above 4096 bits the Lucas step alone would take seconds in Python: base 2 only.
        if not is_probable_prime(prime, clock=clock, lucas=bits <= LUCAS_MAX_BITS):
            return DhAssessment(bits=bits, prime=False, note="the modulus is not a prime")
        if degenerate:
            return DhAssessment(
                bits=bits,
                prime=True,
                order_bits=1 if generator in (0, 1) else 2,
                largest_factor_bits=2,
                small_subgroup=True,
                note=f"the generator ({_generator_label(prime, generator)}) has order at most 2",
            )
        q = (prime - 1) // 2
        if is_probable_prime(q, clock=clock, lucas=False):
            return DhAssessment(bits=bits, prime=True, safe=True, order_bits=bits - 1)
    except _OutOfTime:
        return DhAssessment(bits=bits, note=f"the primality test did not finish within {budget:g}s")
    factors, rest = _factor_part(prime - 1, clock)
    order, unresolved = _order(prime, generator, factors, rest)
    if not unresolved:
        # A factor split off by Pollard may be composite: its primes are then smaller still.
        largest = max((f for f in factors if order % f == 0), default=1)
        return DhAssessment(
            bits=bits,
            prime=True,
            safe=False,
            order_bits=order.bit_length(),
            largest_factor_bits=largest.bit_length(),
            small_subgroup=largest.bit_length() < SMALL_SUBGROUP_BITS,
            note=f"the generator's order is a {order.bit_length()}-bit number whose largest "
            f"prime factor has {largest.bit_length()} bits",
        )
    try:
        rest_prime = is_probable_prime(rest, clock=_Clock(budget))
    except _OutOfTime:
        rest_prime = False
    if rest_prime:
        return DhAssessment(
            bits=bits,
            prime=True,
            safe=False,
            order_bits=order.bit_length(),
            largest_factor_bits=rest.bit_length(),
            small_subgroup=rest.bit_length() < SMALL_SUBGROUP_BITS,
            note=f"the generator's order has a {rest.bit_length()}-bit prime factor",
        )
    return DhAssessment(
        bits=bits,
        prime=True,
        safe=False,
        note=(
            "not a safe prime, and the generator's subgroup order cannot be established "
            f"(p - 1 has an unfactored {rest.bit_length()}-bit part)"
        ),
    )
