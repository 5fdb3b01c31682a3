"""Comparing answers is bounded: raw bytes first, then each body's head normalised once.

A large API answer (up to the 1 MiB cap) used to be normalised in full by a regular expression for
every comparison, several per response: most of a scan's CPU on large-body targets. These tests
count what the normaliser is given (no timing), and pin down what a bounded comparison still sees.
"""

from __future__ import annotations

import json
import random

import pytest

from keywire.checks import _compare, cleartext
from keywire.checks._compare import HEAD_BYTES, answers_differ, bodies_differ

from .test_pure_checks import CANARY, T, ids, resp


def _big_body(request_id: str, *, echo: str = "?page=1", size: int = 1024 * 1024) -> bytes:
    rng = random.Random(3)
    items: list[str] = []
    total = 0
    while total < size:
        items.append(
            json.dumps({"id": rng.randrange(10**9), "uuid": f"{rng.getrandbits(128):032x}"})
        )
        total += len(items[-1]) + 2
    head = json.dumps({"request_id": request_id, "url": f"/v1/items{echo}"})
    return (head + "\n" + ",\n".join(items)).encode()


class _Recorder:
    """Stands in for the normalising expression and records the size of each input."""

    def __init__(self, real):
        self.real = real
        self.sizes: list[int] = []

    def sub(self, repl, data):
        self.sizes.append(len(data))
        return self.real.sub(repl, data)


@pytest.fixture
def recorder(monkeypatch):
    _compare._normalized_head.cache_clear()
    recorder = _Recorder(_compare._VOLATILE)
    monkeypatch.setattr(_compare, "_VOLATILE", recorder)
    yield recorder
    _compare._normalized_head.cache_clear()


def test_equal_bytes_are_never_normalised(recorder):
    body = _big_body("a1b2c3d4e5f60718")
    assert not bodies_differ(body, bytes(body), CANARY)
    assert recorder.sizes == []


def test_large_bodies_are_normalised_once_and_only_their_head(recorder):
    baseline = resp("http://api.test/v1", body=_big_body("0011223344556677"))
    canaries = [
        ("authorization-bearer", resp("http://api.test/v1", body=_big_body("8899aabbccddeeff"))),
        ("x-api-key", resp("http://api.test/v1", body=_big_body("0123456789abcdef"))),
    ]
    obs = cleartext.CleartextObservation(
        target=T,
        http_url="http://api.test/v1",
        missing_reason="",
        baseline=baseline,
        canaries=tuple(canaries),
        baseline_repeat=None,
        canary=CANARY,
    )
    assert ids(cleartext.check(obs)) == ["KW101"]  # answers over HTTP, the same with a canary
    assert recorder.sizes, "the bodies differ (request IDs): they must be normalised"
    assert max(recorder.sizes) <= HEAD_BYTES
    # Three distinct bodies, compared twice each way: each head is normalised once.
    assert len(recorder.sizes) == 3


def test_a_difference_in_the_head_of_a_large_body_is_seen():
    a = _big_body("0011223344556677")
    b = a.replace(b'"url"', b'"error": "invalid key", "url"', 1)
    assert bodies_differ(a, b, CANARY)


def test_an_echoed_canary_that_shifts_a_large_body_is_no_difference():
    """The echo moves everything after it: the cut at the head must not look like a change."""
    a = _big_body("0011223344556677")
    b = _big_body("8899aabbccddeeff", echo=f"?page=1&api_key={CANARY}")
    assert not bodies_differ(a, b, CANARY, ["api_key"])
    # ... and a canary cut in two by the head's end is no difference either.
    start = HEAD_BYTES - len(CANARY) // 2
    c = a[:start] + CANARY.encode() + a[start:]
    assert not bodies_differ(a, c, CANARY)


def test_a_short_answer_against_a_large_one_differs():
    large = _big_body("0011223344556677")
    assert bodies_differ(b'{"error": "invalid key"}', large, CANARY)
    assert bodies_differ(large, large[: HEAD_BYTES // 2], CANARY)


def test_beyond_the_head_is_not_compared():
    """Documented bound: what changes after the first HEAD_BYTES does not count."""
    a = _big_body("0011223344556677")
    b = a[: HEAD_BYTES + 1000] + b"totally different tail"
    assert not bodies_differ(a, b, CANARY)


def test_answers_differ_uses_the_same_bounded_comparison(recorder):
    a = resp(body=_big_body("0011223344556677"))
    b = resp(body=_big_body("8899aabbccddeeff", echo=f"?page=1&amp;api_key={CANARY}"))
    assert not answers_differ(a, b, CANARY, ["api_key"])
    assert max(recorder.sizes) <= HEAD_BYTES
