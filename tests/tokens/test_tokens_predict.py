"""Prediction: MT19937 recovery, LCGs and time-seeded generators, with near-misses.

The reference generators here are written from their published definitions (the Java and
glibc ones in a few lines each) or are Python's own ``random`` module.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keywire.redact import redact
from keywire.tokens import WeaknessKind, analyze
from keywire.tokens._alphabet import DECIMAL, HEX, infer_charset
from keywire.tokens.predict import lcg, mt19937, predict_tokens, timeseed
from keywire.tokens.predict._streams import streams

NOW = time.time()


class JavaRandom:
    """java.util.Random, from its Javadoc."""

    def __init__(self, seed: int) -> None:
        self.seed = (seed ^ 0x5DEECE66D) & ((1 << 48) - 1)

    def _next(self, bits: int) -> int:
        self.seed = (self.seed * 0x5DEECE66D + 0xB) & ((1 << 48) - 1)
        value = self.seed >> (48 - bits)
        return value - (1 << bits) if value >> (bits - 1) else value  # signed int

    def next_int(self) -> int:
        return self._next(32)

    def next_long(self) -> int:
        return (self._next(32) << 32) + self._next(32)


def glibc_random(seed: int, count: int) -> list[int]:
    """glibc random() (TYPE_3), as documented by Peter Selinger's analysis of it."""
    r = [0] * 344
    r[0] = seed
    for i in range(1, 31):
        r[i] = (16807 * r[i - 1]) % 2147483647
    for i in range(31, 34):
        r[i] = r[i - 31]
    for i in range(34, 344):
        r[i] = (r[i - 31] + r[i - 3]) & 0xFFFFFFFF
    out = []
    for _ in range(count):
        r.append((r[-31] + r[-3]) & 0xFFFFFFFF)
        out.append(r[-1] >> 1)
    return out


def msvc_rand(seed: int, count: int) -> list[int]:
    out = []
    for _ in range(count):
        seed = (seed * 214013 + 2531011) & 0xFFFFFFFF
        out.append((seed >> 16) & 0x7FFF)
    return out


class TestMersenneTwister:
    @given(st.integers(0, 0xFFFFFFFF))
    def test_untemper_inverts_temper(self, word):
        assert mt19937.untemper(mt19937.temper(word)) == word

    def test_clone_from_python_random_predicts_the_next_outputs(self):
        rng = random.Random(secrets.randbits(64))
        rng.getrandbits(32 * 100)  # an arbitrary offset: alignment must not matter
        seen = [rng.getrandbits(32) for _ in range(624)]
        assert mt19937.predict(seen, 10) == [rng.getrandbits(32) for _ in range(10)]

    def test_clone_needs_624_outputs(self):
        with pytest.raises(ValueError, match="624"):
            mt19937.Clone([1, 2, 3])
        assert mt19937.verify([1] * 624) == 0

    def test_verify_tolerates_outputs_drawn_by_others(self):
        rng = random.Random(5)
        words = [rng.getrandbits(32) for _ in range(624)]
        for _ in range(3):
            rng.getrandbits(32 * 7)  # other clients
            words.append(rng.getrandbits(32))
        assert mt19937.verify(words) == 0
        assert mt19937.verify(words, max_gap=20) == 3

    @pytest.mark.parametrize(
        ("make", "count"),
        [
            (lambda r: str(r.getrandbits(32)), 700),
            (lambda r: format(r.getrandbits(32), "08x"), 700),
            (lambda r: format(r.getrandbits(64), "x"), 350),
            (lambda r: format(r.getrandbits(128), "032x"), 200),
            (lambda r: r.randbytes(16).hex(), 200),
        ],
        ids=["decimal32", "hex32", "hex64-unpadded", "hex128", "randbytes"],
    )
    def test_tokens_from_python_random_are_predicted(self, make, count):
        rng = random.Random(secrets.randbits(64))
        tokens = [make(rng) for _ in range(count)]
        upcoming = make(rng)
        result = analyze(tokens)
        predicted = [w for w in result.weaknesses if w.kind is WeaknessKind.PREDICTED]
        assert predicted, result.weaknesses
        (prediction,) = [p for p in result.predictions if p.generator.startswith("MT19937")]
        # The predicted next token is the real one, shown only redacted.
        assert prediction.next_tokens[0] == str(redact(upcoming))
        assert predicted[0].evidence["next_token"] == str(redact(upcoming))
        assert upcoming not in str(predicted[0].evidence)

    def test_not_enough_outputs_is_not_run_and_says_how_many(self):
        rng = random.Random(1)
        result = analyze([str(rng.getrandbits(32)) for _ in range(300)], predict=True)
        (test,) = [t for t in result.tests if t.name == "predict.mt19937"]
        assert test.verdict.value == "not_run"
        assert test.min_samples == 625

    def test_near_miss_csprng_words_are_not_mt19937(self):
        result = analyze([str(secrets.randbits(32)) for _ in range(700)])
        assert WeaknessKind.PREDICTED not in {w.kind for w in result.weaknesses}
        (test,) = [t for t in result.tests if t.name == "predict.mt19937"]
        assert test.verdict.value == "no_weakness_found"


class TestLinearCongruential:
    @pytest.mark.parametrize(
        ("a", "c", "m"),
        [
            (1103515245, 12345, 1 << 31),  # glibc TYPE_0
            (16807, 0, (1 << 31) - 1),  # minstd_rand0
            (6364136223846793005, 1442695040888963407, 1 << 64),  # Knuth MMIX
            (25214903917, 11, 1 << 48),  # Java's, full state
        ],
    )
    def test_unknown_parameters_are_recovered(self, a, c, m):
        x = secrets.randbelow(m - 1) + 1
        values = []
        for _ in range(24):
            x = (a * x + c) % m
            values.append(x)
        found = lcg.solve_full(values[:-1])
        assert found is not None
        assert int(found.parameters["m"]) == m
        assert found.upcoming[0] == values[-1]
        # Other multipliers may fit what was seen (m = 2^k); the one found reproduces it all.
        a_found, c_found = int(found.parameters["a"]), int(found.parameters["c"])
        state = values[0]
        for value in values[1:]:
            state = (a_found * state + c_found) % m
            assert state == value

    def test_near_miss_random_values_and_counters_are_not_lcgs(self):
        assert lcg.solve_full([secrets.randbits(31) for _ in range(20)]) is None
        assert lcg.solve_full(list(range(100, 120))) is None
        assert lcg.solve_full([1, 2, 3]) is None

    def test_java_next_int_and_next_long(self):
        java = JavaRandom(secrets.randbits(48))
        ints = [str(java.next_int()) for _ in range(8)]
        result = analyze(ints)
        assert "java.util.Random nextInt()" in {p.generator for p in result.predictions}
        java = JavaRandom(secrets.randbits(48))
        longs = [str(java.next_long()) for _ in range(2)]  # two tokens are four outputs
        upcoming = str(java.next_long())
        result = analyze(longs)
        (prediction,) = result.predictions[:1]
        assert prediction.generator == "java.util.Random nextLong()"
        assert prediction.next_tokens[0] == str(redact(upcoming))

    def test_msvc_rand(self):
        outputs = msvc_rand(secrets.randbits(32), 9)
        found = lcg.solve_msvc(outputs[:-1])
        assert found is not None and found.upcoming[0] == outputs[-1]
        assert lcg.solve_msvc([secrets.randbelow(32768) for _ in range(6)]) is None

    def test_glibc_random(self):
        outputs = glibc_random(secrets.randbelow(2**31 - 2) + 1, 60)
        found = lcg.solve_glibc_random(outputs[:-1])
        assert found is not None
        assert outputs[-1] - found.upcoming[0] in (0, 1)
        assert lcg.solve_glibc_random([secrets.randbits(31) for _ in range(60)]) is None

    def test_lab_lcg_through_analyze(self):
        state = secrets.randbits(64)
        tokens = []
        for _ in range(24):
            state = (6364136223846793005 * state + 1442695040888963407) % (1 << 64)
            tokens.append(f"{state:016x}")
        result = analyze(tokens)
        assert result.weaknesses[0].kind is WeaknessKind.PREDICTED
        assert result.structure.max_bits == pytest.approx(64.0)


class TestTimeSeeded:
    def test_md5_of_the_time(self):
        tokens = [hashlib.md5(str(int(NOW) + i).encode()).hexdigest() for i in range(3)]
        found, tried, cut = timeseed.search(
            tokens,
            charset=HEX,
            streams=streams(tokens, HEX),
            around=[NOW],
            window_s=60,
        )
        assert found is not None and not cut
        assert found.generator == "md5(str(int(time.time()))).hexdigest()"
        assert found.matched == 3
        assert found.upcoming[0] == hashlib.md5(str(int(NOW) + 3).encode()).hexdigest()
        assert tried >= 120

    def test_python_random_seeded_with_the_time(self):
        def make(instant: int) -> str:
            return format(random.Random(instant).getrandbits(128), "032x")

        tokens = [make(int(NOW) - 5 + i) for i in range(2)]
        result = analyze(tokens, sampled_at=NOW)
        (prediction,) = result.predictions
        assert "random.seed(int(time.time()))" in prediction.generator
        assert prediction.next_tokens[0] == str(redact(make(int(NOW) - 3)))

    def test_choices_seeded_with_the_time(self):
        alphabet = string.ascii_letters + string.digits

        def make(instant: int) -> str:
            return "".join(random.Random(instant).choices(alphabet, k=20))

        tokens = [make(int(NOW) + i) for i in (0, 2)]
        result = analyze(tokens, sampled_at=NOW)
        assert any("choices" in p.generator for p in result.predictions)

    def test_milliseconds_near_each_capture_time(self):
        stamps = [int(NOW * 1000) + 7, int(NOW * 1000) + 911]
        tokens = [hashlib.sha1(str(ms).encode()).hexdigest() for ms in stamps]
        result = analyze(tokens, token_times=[ms / 1000 for ms in stamps])
        (prediction,) = result.predictions
        assert "int(time.time() * 1000)" in prediction.generator

    def test_outside_the_window_nothing_is_found(self):
        tokens = [hashlib.md5(str(int(NOW) - 7200 + i).encode()).hexdigest() for i in range(3)]
        assert analyze(tokens, sampled_at=NOW, time_window=600).predictions == ()
        assert analyze(tokens, sampled_at=NOW, time_window=7300).predictions

    def test_near_miss_short_tokens_that_match_by_chance_are_not_confirmed(self):
        # 6-digit numbers: md5(str(t))[:6] of some instant equals one of 2000 such tokens by
        # chance; keywire must account for that and stay silent.
        rng = random.Random(4)
        tokens = [f"{rng.randrange(10**6):06d}" for _ in range(2000)]
        charset = infer_charset(tokens)
        assert charset is DECIMAL
        result = predict_tokens(tokens, charset=charset, around=[NOW], window_s=3600)
        assert result.predictions == ()

    def test_search_is_bounded_in_time(self):
        tokens = [secrets.token_hex(16)]
        _, tried, cut = timeseed.search(
            tokens,
            charset=HEX,
            streams=streams(tokens, HEX),
            around=[NOW],
            window_s=7 * 86400,
            budget_s=0.05,
        )
        assert cut and tried < 7 * 86400
