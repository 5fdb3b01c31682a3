"""Comparing answers is bounded: raw bytes first, then each body's head normalised once.

A large API answer (up to the 1 MiB cap) used to be normalised in full by a regular expression for
every comparison, several per response: most of a scan's CPU on large-body targets. These tests
count what the normaliser is given (no timing), and pin down what a bounded comparison still sees.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    _compare._normalized.cache_clear()
    recorder = _Recorder(_compare._VOLATILE)
    monkeypatch.setattr(_compare, "_VOLATILE", recorder)
    yield recorder
    _compare._normalized.cache_clear()


def test_equal_bytes_are_never_normalised(recorder):
    body = _big_body("a1b2c3d4e5f60718")
    assert not bodies_differ(body, bytes(body), CANARY)
    assert recorder.sizes == []


def test_large_bodies_are_normalised_only_where_they_differ(recorder):
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
    # They differ in their first line only: that line (and a margin) is all that is normalised.
    assert max(recorder.sizes) < 1024, recorder.sizes
    assert len(recorder.sizes) <= 4


def test_a_difference_in_the_head_of_a_large_body_is_seen():
    a = _big_body("0011223344556677")
    b = a.replace(b'"url"', b'"error": "invalid key", "url"', 1)
    assert bodies_differ(a, b, CANARY)
    deep = HEAD_BYTES // 2
    c = a[:deep] + a[deep:].replace(b'"uuid"', b'"UUID"', 1)
    assert bodies_differ(a, c, CANARY)


def test_numbers_that_change_everywhere_are_no_difference():
    """Timestamps in every item: the part that differs is the whole head, normalised at once."""
    a = b"[" + b",".join(b'{"id": %d, "at": %d}' % (n, 1700000000 + n) for n in range(9000)) + b"]"
    b = b"[" + b",".join(b'{"id": %d, "at": %d}' % (n, 1800000000 + n) for n in range(9000)) + b"]"
    assert len(a) > HEAD_BYTES
    assert not bodies_differ(a, b, CANARY)
    assert bodies_differ(a, b.replace(b'"at"', b'"to"', 1), CANARY)


@pytest.mark.parametrize("digits", [300, 5000])
def test_a_long_number_that_changes_inside_is_no_difference(digits):
    """The cut where the bodies start to differ must not split a number in two."""
    run = b"7" * digits
    a = b'{"list": [1, 2, 3], "n": ' + run + b'5, "end": true}'
    b = b'{"list": [1, 2, 3], "n": ' + run + b'6, "end": true}'
    assert not bodies_differ(a, b, CANARY)
    assert bodies_differ(a, b.replace(b"true", b"false"), CANARY)


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


_PIECES = [
    b'{"id": ',
    b"12",
    b"3456789",
    b"deadbeef",
    b"00ff00ff00",
    b'"name": "item"',
    b", ",
    b"\n",
    b"?api_key=",
    b"&amp;api_key=",
    b"%3Fapi_key%3D",
    CANARY.encode(),
    b"kw_canary_",
    b"abc",
    b"}",
    b" ",
    b"=",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=200),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(_PIECES)), max_size=4),
)
def test_comparing_the_differing_part_equals_comparing_whole_bodies(pieces, edits):
    """Leaving out what both bodies begin and end with never changes the verdict."""
    a_parts = list(pieces)
    b_parts = list(pieces)
    for at, piece in edits:
        b_parts.insert(min(at, len(b_parts)), piece)
    a, b = b"".join(a_parts), b"".join(b_parts)
    names = ("api_key",)
    whole = _compare._VOLATILE.sub(
        b"#", _compare._strip(a, CANARY, names)
    ) != _compare._VOLATILE.sub(b"#", _compare._strip(b, CANARY, names))
    assert bodies_differ(a, b, CANARY, names) == whole


def test_a_body_read_to_a_cap_has_no_real_end():
    """Identical up to 30 KiB, then a timestamp: the capped answer is not "shorter"."""
    items = b",".join(b'{"id": %d, "name": "item"}' % n for n in range(6000))
    a = b'{"items": [' + items + b"]}"
    b = a
    deep = a.index(b'"id": 1200,')
    a = a[:deep] + b'"seen": 1700000001, ' + a[deep:]
    b = b[:deep] + b'"seen": 1800000002, ' + b[deep:]
    capped = b[: _compare.COMPARED_BYTES]
    assert not bodies_differ(a, capped, CANARY, b_truncated=True)
    assert bodies_differ(a, capped, CANARY), "read whole, a body that short would differ"
    assert bodies_differ(a, capped.replace(b'"name"', b'"NAME"', 1), CANARY, b_truncated=True)


def test_compared_probes_read_only_what_is_compared():
    """The cleartext canaries download at most COMPARED_BYTES of a large answer."""
    import asyncio

    from keywire.lab import LabServer
    from keywire.net.http import ClientSettings, HttpClient
    from keywire.probes import cleartext as cleartext_probe
    from keywire.probes._context import ProbeContext, ScanSettings, new_canary
    from keywire.targets import parse_target

    flask = pytest.importorskip("flask")
    app = flask.Flask("large_answers")
    big = _big_body("0011223344556677", size=512 * 1024)

    @app.get("/v1/items")
    def items():  # type: ignore[no-untyped-def]
        return big.replace(b"0011223344556677", new_canary()[-16:].encode(), 1)

    async def run(url: str) -> cleartext.CleartextObservation:
        async with HttpClient(ClientSettings(timeout=5)) as http:
            ctx = ProbeContext(
                target=parse_target(url), http=http, settings=ScanSettings(canary=CANARY)
            )
            return await cleartext_probe.probe(ctx)

    with LabServer(app) as server:
        obs = asyncio.run(run(f"{server.url}/v1/items"))
    assert isinstance(obs.baseline, type(resp())) and len(obs.baseline.body) == len(big)
    assert [(len(r.body), r.body_truncated) for _, r in obs.canaries] == [
        (_compare.COMPARED_BYTES, True)
    ] * 2
    assert ids(cleartext.check(obs)) == ["KW101"]
