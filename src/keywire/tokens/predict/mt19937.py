"""Recover the Mersenne Twister (MT19937) from 624 consecutive 32-bit outputs, and predict.

MT19937 is the generator behind Python's :mod:`random`, Ruby's ``rand``, PHP's ``mt_rand`` and
C++'s ``std::mt19937``. Each 32-bit output is one word of its 624-word state passed through an
invertible "tempering" map, and the state evolves linearly:

    x[k+624] = x[k+397] XOR A((x[k] & 0x80000000) | (x[k+1] & 0x7fffffff))

so 624 consecutive outputs, untempered, *are* a state, whatever their alignment, and every later
output follows. ``random.getrandbits(32)`` returns one output; ``getrandbits(64)`` and wider return
several, least significant word first.

>>> import random
>>> rng = random.Random(2024)
>>> seen = [rng.getrandbits(32) for _ in range(624)]
>>> predict(seen, 1) == [rng.getrandbits(32)]
True
"""

from __future__ import annotations

from collections.abc import Sequence

N = 624
M = 397
_MATRIX_A = 0x9908B0DF
_UPPER = 0x80000000
_LOWER = 0x7FFFFFFF
_MASK = 0xFFFFFFFF


def temper(y: int) -> int:
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y & _MASK


def untemper(y: int) -> int:
    """The state word behind output ``y`` (the inverse of :func:`temper`)."""
    y ^= y >> 18
    y ^= (y << 15) & 0xEFC60000
    result = y
    for _ in range(5):  # each round fixes 7 more low bits of y ^= (y << 7) & mask
        result = y ^ ((result << 7) & 0x9D2C5680)
    y = result & _MASK
    result = y
    for _ in range(3):  # and 11 more high bits of y ^= y >> 11
        result = y ^ (result >> 11)
    return result & _MASK


def _next_word(first: int, second: int, far: int) -> int:
    y = (first & _UPPER) | (second & _LOWER)
    return far ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)


class Clone:
    """A running copy of a generator, from 624 consecutive outputs."""

    def __init__(self, outputs: Sequence[int]) -> None:
        if len(outputs) < N:
            raise ValueError(f"MT19937 needs {N} consecutive outputs, got {len(outputs)}")
        self._state = [untemper(o) for o in outputs[-N:]]

    def next(self) -> int:
        state = self._state
        word = _next_word(state[-N], state[-N + 1], state[-N + M])
        state.append(word)
        if len(state) > 4 * N:
            del state[:-N]
        return temper(word)


def predict(outputs: Sequence[int], count: int) -> list[int]:
    """The ``count`` outputs that follow the last 624 of ``outputs``."""
    clone = Clone(outputs)
    return [clone.next() for _ in range(count)]


def verify(words: Sequence[int], *, start: int = 0, max_gap: int = 0, checks: int = 64) -> int:
    """How many of the words after ``words[start:start+624]`` a clone predicts, in order.

    ``max_gap`` allows that many unseen outputs between two observed ones (other clients of a
    shared generator consume outputs too). Stops at the first word it cannot find, or after
    ``checks`` words.
    """
    if len(words) < start + N + 1:
        return 0
    clone = Clone(words[start : start + N])
    verified = 0
    for observed in words[start + N : start + N + checks]:
        for _ in range(max_gap + 1):
            if clone.next() == observed:
                verified += 1
                break
        else:
            return verified
    return verified
