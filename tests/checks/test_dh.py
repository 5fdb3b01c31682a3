"""The DH group analysis: primality (Baillie-PSW), safe primes, the generator's subgroup."""

from __future__ import annotations

import random

import pytest

from keywire.checks._dh import SMALL_SUBGROUP_BITS, assess, is_probable_prime
from labs._dhgroups import SAFE_2048, SMALL_SUBGROUP_2048, composite_2048, safe_prime


def _sieve(limit: int) -> list[bool]:
    flags = [True] * limit
    flags[0] = flags[1] = False
    for i in range(2, int(limit**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = [False] * len(flags[i * i :: i])
    return flags


def test_primality_agrees_with_a_sieve() -> None:
    flags = _sieve(100_000)
    assert [n for n in range(100_000) if is_probable_prime(n) != flags[n]] == []


@pytest.mark.parametrize(
    "n",
    [
        2047,  # strong pseudoprimes to base 2
        3277,
        4033,
        3215031751,
        2152302898747,
        3474749660383,
        341550071728321,
        3825123056546413051,
        5459,  # strong Lucas pseudoprimes
        5777,
        10877,
        16109,
        561,  # Carmichael numbers
        41041,
        (2**89 - 1) * (2**107 - 1),
        (2**521 - 1) ** 2,
    ],
)
def test_pseudoprimes_are_composite(n: int) -> None:
    assert not is_probable_prime(n)


@pytest.mark.parametrize("exponent", [61, 89, 107, 127, 521, 607, 1279])
def test_mersenne_primes_are_prime(exponent: int) -> None:
    assert is_probable_prime(2**exponent - 1)


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_standard_groups_are_known_safe_primes(bits: int) -> None:
    verdict = assess(safe_prime(bits), 2)
    assert verdict.known == f"ffdhe{bits}"
    assert (verdict.prime, verdict.safe, verdict.small_subgroup) == (True, True, False)


def test_a_non_standard_safe_prime_is_proved_safe() -> None:
    verdict = assess(*SAFE_2048)
    assert verdict.known == ""
    assert (verdict.prime, verdict.safe, verdict.small_subgroup) == (True, True, False)
    assert verdict.order_bits == 2047


def test_a_2048_bit_composite_is_caught_whatever_its_size() -> None:
    modulus, generator = composite_2048()
    assert modulus.bit_length() == 2048
    verdict = assess(modulus, generator)
    assert verdict.prime is False
    assert verdict.note == "the modulus is not a prime"


def test_a_composite_next_to_a_safe_prime_is_caught() -> None:
    verdict = assess(safe_prime(2048) - 2, 2)
    assert verdict.prime is False


@pytest.mark.parametrize("generator", ["p-1", 1])
def test_a_generator_of_order_two_or_one_is_a_small_subgroup(generator) -> None:
    p = safe_prime(2048)
    verdict = assess(p, p - 1 if generator == "p-1" else generator)
    assert verdict.small_subgroup
    assert verdict.order_bits in (1, 2)


def test_a_large_prime_with_a_small_order_generator_is_found() -> None:
    """The order 2^31 - 1 is past trial division: Pollard's p - 1 method finds it."""
    verdict = assess(*SMALL_SUBGROUP_2048)
    assert (verdict.prime, verdict.safe) == (True, False)
    assert verdict.small_subgroup
    assert verdict.order_bits == verdict.largest_factor_bits == 31
    assert verdict.largest_factor_bits < SMALL_SUBGROUP_BITS


def _group_with_order(order: int, bits: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    while True:
        k = rng.getrandbits(bits - order.bit_length()) | (1 << (bits - order.bit_length() - 1))
        k -= k % 2
        p = k * order + 1
        if p.bit_length() == bits and is_probable_prime(p):
            break
    for h in range(2, 100):
        g = pow(h, (p - 1) // order, p)
        if g != 1:
            return p, g
    raise AssertionError("no generator")


def test_a_generator_of_small_prime_order_found_by_trial_division() -> None:
    p, g = _group_with_order(65521, 512, seed=1)
    verdict = assess(p, g)
    assert verdict.small_subgroup
    assert verdict.order_bits == 16


def test_a_dsa_style_group_is_not_safe_and_not_small() -> None:
    """A 160-bit prime-order subgroup (what `openssl dhparam -dsaparam` makes): sound but not
    a safe prime; keywire cannot factor p - 1 far enough to see q, and says so."""
    rng = random.Random(7)
    q = rng.getrandbits(160) | (1 << 159) | 1
    while not is_probable_prime(q):
        q += 2
    p, g = _group_with_order(q, 512, seed=2)
    verdict = assess(p, g)
    assert (verdict.prime, verdict.safe, verdict.small_subgroup) == (True, False, False)
    assert "cannot be established" in verdict.note or verdict.largest_factor_bits == 160


def test_the_time_budget_leaves_the_question_open() -> None:
    verdict = assess(SAFE_2048[0], 2, budget=0.0)
    assert verdict.prime is None
    assert "did not finish" in verdict.note
