"""Structural analysis: formats with a clock, counters, repeats and entropy bounds, each with
near-misses that must stay silent."""

from __future__ import annotations

import base64
import random
import secrets
import time
import uuid

import pytest

from keywire.tokens import WeaknessKind, analyze
from keywire.tokens._embedded import find_embedded_time
from keywire.tokens._formats import match_uuid, window_for

NOW = time.time()
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def kinds(tokens, **kwargs) -> set[str]:
    return {w.kind.value for w in analyze(tokens, predict=False, **kwargs).weaknesses}


def uuid7(ms: int | None = None) -> str:
    ms = int(NOW * 1000) if ms is None else ms
    value = (ms << 80) | (7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | secrets.randbits(62)))


def uuid6(node: int = 0x0242AC110002, clock: int = 0x1234) -> str:
    ticks = int(NOW * 1e7) + 0x01B21DD213814000 + secrets.randbelow(10_000)
    value = (ticks >> 28) << 96 | ((ticks >> 12) & 0xFFFF) << 80 | 6 << 76
    value |= (ticks & 0xFFF) << 64 | 0b10 << 62 | clock << 48 | node
    return str(uuid.UUID(int=value))


def ulid(ms: int | None = None) -> str:
    ms = int(NOW * 1000) if ms is None else ms
    value = (ms << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def snowflake(seq: int, ms: int | None = None, worker: int = 17) -> str:
    ms = int(NOW * 1000) if ms is None else ms
    return str(((ms - 1288834974657) << 22) | (worker << 12) | seq)


class TestUuids:
    def test_uuid1_is_time_based_from_a_single_sample(self):
        result = analyze([str(uuid.uuid1())], predict=False)
        (weakness,) = result.weaknesses
        assert weakness.kind is WeaknessKind.TIME_BASED
        assert weakness.samples_needed == 1
        assert result.structure.kind == "uuid-v1"
        assert result.structure.unpredictable_bits < 40
        assert "MAC" in weakness.evidence["node"]

    def test_uuid1_fields_are_decoded(self):
        made = [uuid.uuid1(node=0x0242AC110002, clock_seq=0x1234) for _ in range(3)]
        match = match_uuid([str(u) for u in made], window_for([NOW], 3))
        assert match is not None and match.kind == "uuid-v1"
        assert match.evidence["clock_sequence"] == "constant"
        assert "the same in every sample" in match.evidence["node"]
        issued = match.evidence["issued"]
        assert issued[:10] == time.strftime(
            "%Y-%m-%d", time.gmtime(made[0].time / 1e7 - 12219292800)
        )

    def test_uuid1_with_a_random_varying_node_keeps_its_node_bits(self):
        tokens = [str(uuid.uuid1(node=secrets.randbits(48) | (1 << 40))) for _ in range(4)]
        result = analyze(tokens, predict=False)
        assert result.structure.unpredictable_bits > 64
        assert kinds(tokens) == set()

    def test_uuid6_is_time_based(self):
        assert kinds([uuid6() for _ in range(3)]) == {"time_based"}

    def test_uuid7_reveals_its_time_but_keeps_74_random_bits(self):
        result = analyze([uuid7() for _ in range(5)], predict=False)
        assert result.structure.kind == "uuid-v7"
        assert result.weaknesses == ()
        assert any("reveals when it was issued" in note for note in result.notes)

    def test_uuid4_is_not_flagged_and_bounded_at_122_bits(self):
        result = analyze([str(uuid.uuid4()) for _ in range(400)], predict=False)
        assert result.weaknesses == ()
        assert result.structure.kind == "uuid-v4"
        assert result.structure.max_bits == 122.0
        assert result.structure.charset == "hex"  # the dashes are separators, not symbols

    def test_name_based_uuids_carry_a_note(self):
        result = analyze([str(uuid.uuid5(uuid.NAMESPACE_DNS, f"user{i}")) for i in range(3)])
        assert result.structure.kind == "uuid-v5"
        assert any("name" in note for note in result.notes)


class TestObjectIds:
    def test_objectids_with_a_counter_are_time_based(self):
        process = secrets.token_hex(5)
        tokens = [f"{int(NOW):08x}{process}{100 + i:06x}" for i in range(6)]
        result = analyze(tokens, predict=False)
        (weakness,) = result.weaknesses
        assert weakness.kind is WeaknessKind.TIME_BASED
        assert result.structure.kind == "objectid"
        assert weakness.evidence["process_value"] == "the same in every sample"

    def test_a_single_objectid_near_now_is_enough(self):
        tokens = [f"{int(NOW) - 60:08x}{secrets.token_hex(5)}{secrets.token_hex(3)}"]
        (weakness,) = analyze(tokens, predict=False).weaknesses
        assert weakness.kind is WeaknessKind.TIME_BASED
        assert weakness.confidence.value == "medium"

    def test_near_miss_random_24_hex_is_not_an_objectid(self):
        # The first four bytes decode to a time far from now.
        tokens = [f"{0x10000000 + i:08x}{secrets.token_hex(8)}" for i in range(3)]
        assert analyze(tokens, predict=False).structure.kind != "objectid"

    def test_near_miss_old_objectid_single_sample(self):
        old = int(NOW) - 30 * 86400
        token = f"{old:08x}{secrets.token_hex(8)}"
        assert analyze([token], predict=False).structure.kind != "objectid"


class TestOtherClocks:
    def test_snowflake_ids(self):
        base = int(NOW * 1000)
        tokens = [snowflake(i, base + 3 * i) for i in range(5)]
        result = analyze(tokens, predict=False)
        assert result.structure.kind == "snowflake"
        assert {w.kind.value for w in result.weaknesses} == {"time_based"}

    def test_near_miss_random_19_digit_numbers_are_not_snowflakes(self):
        tokens = [str(secrets.randbits(63) | 1 << 62) for _ in range(5)]
        assert analyze(tokens, predict=False).structure.kind != "snowflake"

    def test_ulid_is_time_prefixed_but_not_weak(self):
        result = analyze([ulid() for _ in range(5)], predict=False)
        assert result.structure.kind == "ulid"
        assert result.weaknesses == ()

    @pytest.mark.parametrize(
        "make",
        [
            lambda: f"{int(NOW)}{secrets.randbelow(10**6):06d}",  # decimal seconds
            lambda: f"u{int(NOW * 1000)}x{secrets.token_hex(3)}",  # decimal ms in text
            lambda: f"{int(NOW):08x}{secrets.token_hex(4)}",  # hex seconds
        ],
    )
    def test_embedded_timestamps(self, make):
        tokens = [make() for _ in range(4)]
        result = analyze(tokens, predict=False)
        assert "time_based" in {w.kind.value for w in result.weaknesses}
        assert any(f.kind == "timestamp" for f in result.structure.fields)

    def test_timestamp_in_base64_decoded_bytes(self):
        def make() -> str:
            raw = int(NOW).to_bytes(4, "big") + secrets.token_bytes(2)
            return base64.urlsafe_b64encode(raw).decode()

        tokens = [make() for _ in range(3)]
        found = find_embedded_time(tokens, window_for([NOW], 3))
        assert found is not None and found.encoding == "big-endian bytes"
        assert "time_based" in kinds(tokens)

    def test_timestamp_beside_enough_random_bits_is_only_a_field(self):
        tokens = [f"{int(NOW)}{secrets.token_hex(16)}" for _ in range(3)]
        result = analyze(tokens, predict=False)
        assert result.weaknesses == ()
        assert [f.kind for f in result.structure.fields] == ["timestamp"]

    def test_embedded_time_uses_the_sampling_time_of_the_file(self):
        then = NOW - 10 * 86400
        tokens = [f"{int(then) + i}{secrets.randbelow(100):02d}" for i in range(3)]
        assert "time_based" in kinds(tokens, sampled_at=then)
        assert "time_based" not in kinds(tokens, sampled_at=NOW)


class TestCounters:
    def test_counter_with_random_padding(self):
        tokens = [f"{5000 + i:010d}{secrets.token_hex(4)}" for i in range(12)]
        result = analyze(tokens, predict=False)
        (weakness,) = result.weaknesses
        assert weakness.kind is WeaknessKind.SEQUENTIAL
        assert weakness.severity.value == "high"
        counter = next(f for f in result.structure.fields if f.kind == "counter")
        assert counter.end <= 10  # the field stops where the padding starts

    def test_counter_needs_only_a_few_samples(self):
        tokens = [f"{5000 + i:010d}{secrets.token_hex(4)}" for i in range(12)]
        (weakness,) = analyze(tokens, predict=False).weaknesses
        assert weakness.samples_needed <= 10

    def test_plain_sequential_numbers(self):
        assert "sequential" in kinds([str(10_000 + 7 * i) for i in range(6)])

    def test_counter_beside_128_random_bits_is_a_low_severity_leak(self):
        tokens = [f"{i:06d}{secrets.token_hex(16)}" for i in range(40, 70)]
        (weakness,) = analyze(tokens, predict=False).weaknesses
        assert weakness.kind is WeaknessKind.SEQUENTIAL
        assert weakness.severity.value == "low"

    def test_near_miss_random_numbers_are_not_a_counter(self):
        rng = random.Random(11)
        tokens = [f"{rng.randrange(10**10):010d}{secrets.token_hex(4)}" for _ in range(30)]
        result = analyze(tokens, predict=False)
        assert "sequential" not in {w.kind.value for w in result.weaknesses}


class TestBoundsAndRepeats:
    def test_short_tokens_have_too_little_entropy(self):
        result = analyze(["a1b2c3d4"], predict=False)
        (weakness,) = result.weaknesses
        assert weakness.kind is WeaknessKind.LOW_ENTROPY
        assert weakness.samples_needed == 1
        assert result.structure.max_bits == pytest.approx(32.0)

    def test_constant_prefix_is_not_entropy(self):
        tokens = [f"sk_live_{secrets.token_hex(4)}" for _ in range(200)]
        result = analyze(tokens, predict=False)
        assert result.structure.max_bits == pytest.approx(32.0)
        assert "low_entropy" in kinds(tokens)

    def test_near_miss_constant_prefix_with_enough_random(self):
        tokens = [f"sk_live_{secrets.token_hex(16)}" for _ in range(30)]
        assert kinds(tokens) == set()

    def test_restricted_last_character_of_token_urlsafe_16(self):
        tokens = [secrets.token_urlsafe(16) for _ in range(400)]
        result = analyze(tokens, predict=False)
        assert result.structure.max_bits == pytest.approx(128.0)
        assert result.positions[-1].alphabet == 4
        assert result.weaknesses == ()

    def test_repeated_tokens(self):
        pool = [secrets.token_hex(16) for _ in range(5)]
        tokens = [pool[i % 5] for i in range(20)]
        result = analyze(tokens, predict=False)
        (weakness,) = result.weaknesses
        assert weakness.kind is WeaknessKind.REPEATED
        assert weakness.samples_needed == 6
        assert pool[0] not in str(weakness.evidence)  # redacted

    def test_the_same_value_every_time(self):
        value = secrets.token_hex(16)
        (weakness,) = analyze([value] * 4, predict=False).weaknesses
        assert weakness.kind is WeaknessKind.REPEATED
        assert value not in weakness.evidence["value"]

    def test_near_miss_repeats_expected_of_a_small_space(self):
        rng = random.Random(3)
        tokens = [f"{rng.randrange(100):02d}" for _ in range(50)]
        assert "repeated" not in kinds(tokens)
