"""Observations the scrubbing leaves alone are judged as they are, without decoding them again.

The encoder says when decoding its data would give back an equal value of the same types
(``Encoder.exact``); :func:`keywire.observations.capture.capture` then hands the check the
observation itself. Anything the scrubbing changes, or the decoding would read differently (an
``int`` where a ``float`` is due, a tuple subclass, a plain union...), is decoded as before. The whole suite runs with ``KEYWIRE_VERIFY_CAPTURE=1`` (tests/conftest.py), which
decodes the exact ones too and compares.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any, NamedTuple

import pytest

from keywire.checks.hsts import HstsObservation
from keywire.net.models import Chain, ChainEnd, FailureKind, FetchFailure, HttpResponse
from keywire.observations._codec import Encoder
from keywire.observations._decode import Decoder
from keywire.observations._scrub import CANARY, Scrubber
from keywire.observations.capture import Captured, _difference, _verify, capture
from keywire.registry import REGISTRY

from .test_codec import Circle, Colour, Square, response, roundtrip

CANARY_VALUE = "kw_canary_" + "0123456789abcdef" * 2


class Level(enum.IntEnum):
    HIGH = 3


class Pair(NamedTuple):
    name: str
    count: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plain:
    text: str
    count: int
    ratio: float
    raw: bytes
    when: datetime.datetime
    colour: Colour
    names: frozenset[str]
    pairs: tuple[tuple[str, int], ...]
    table: dict[str, float]
    shape: Square | Circle
    maybe: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Either:
    value: str | int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Counted:
    count: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Paired:
    pairs: tuple[tuple[str, int], ...]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timed:
    when: datetime.datetime


def plain(**changes: Any) -> Plain:
    fields: dict[str, Any] = {
        "text": "héllo",
        "count": 2,
        "ratio": 0.5,
        "raw": b"\x00\xff",
        "when": datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.timezone.utc),
        "colour": Colour.RED,
        "names": frozenset({"a", "b"}),
        "pairs": (("x", 1),),
        "table": {"p": 0.25},
        "shape": Circle(radius=1.5),
        "maybe": None,
    }
    fields.update(changes)
    return Plain(**fields)


def encode(value: object, hint: object, encoder: Encoder | None = None) -> tuple[bool, object]:
    """Whether ``encoder`` calls ``value`` exact, and what decoding its data gives."""
    encoder = encoder or Encoder()
    encoder.exact = True
    data = encoder.encode(value, hint)
    return encoder.exact, Decoder(encoder.exchanges).decode(data, hint)


def test_a_value_of_its_fields_own_types_is_exact_and_decodes_to_itself():
    value = plain()
    exact, decoded = encode(value, Plain)
    assert exact
    assert _difference(value, decoded, "$") == ""


@pytest.mark.parametrize(
    ("value", "hint", "why"),
    [
        (Circle(radius=2), Circle, "an int where a float is due: read back as 2.0"),
        (Paired(pairs=(Pair("x", 1),)), Paired, "a tuple subclass: read back as a tuple"),
        (Either(value=7), Either, "a plain union: read back as its first member that takes it"),
        (
            Timed(
                when=datetime.datetime(
                    2026, 5, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
                )
            ),
            Timed,
            "a zone other than UTC: read back as a fixed offset",
        ),
    ],
)
def test_what_decoding_would_read_differently_is_not_exact(value, hint, why):
    exact, _decoded = encode(value, hint)
    assert not exact, why


def test_an_int_subclass_in_an_int_field_is_exact():
    """The decoding in memory hands an int back as it was given (a TLS version, an IntEnum):
    the scan judged it so before, and judges it so as it is."""
    exact, decoded = encode(Counted(count=Level.HIGH), Counted)
    assert exact
    assert decoded.count is Level.HIGH


def test_a_type_the_decoding_changes_is_seen_by_the_comparison():
    """Read back from a file (``keywire judge``), an IntEnum is an int, an int a float."""
    decoded = roundtrip(Counted(count=Level.HIGH), Counted)
    assert _difference(Counted(count=Level.HIGH), decoded, "$") == "$.count (Level / int)"
    decoded = roundtrip(Circle(radius=2), Circle)
    assert _difference(Circle(radius=2), decoded, "$") == "$.radius (int / float)"


def test_a_string_the_scrubbing_changes_is_not_exact():
    scrubber = Scrubber(canary=CANARY_VALUE)
    exact, decoded = encode(plain(text=f"echo {CANARY_VALUE}"), Plain, Encoder(text=scrubber.text))
    assert not exact
    assert decoded.text == f"echo {CANARY}"


def test_an_exchange_the_scrubbing_changes_is_not_exact_wherever_it_is_referred_to():
    scrubber = Scrubber()
    encoder = Encoder(text=scrubber.text, response=scrubber.response)
    cookie = response(headers=(("Set-Cookie", "session=Zq8vL2nR7xK4mW9pQ3"),))
    chain = Chain(start=cookie.url, hops=(cookie,), end=ChainEnd.FINAL)
    first, _ = encode(HstsObservation(target="t", https=chain, http=None), HstsObservation, encoder)
    again, _ = encode(HstsObservation(target="t", https=None, http=chain), HstsObservation, encoder)
    assert not first and not again
    plain_chain = Chain(start="u", hops=(response(),), end=ChainEnd.FINAL)
    third, _ = encode(
        HstsObservation(target="t", https=plain_chain, http=None), HstsObservation, encoder
    )
    assert third


def _families(*names: str) -> list[Any]:
    return [entry.load() for entry in REGISTRY if entry.name in names]


def test_capture_hands_an_exact_observation_to_its_check_as_it_is():
    failure = FetchFailure(url="http://api.test/", probe="p", kind=FailureKind.REFUSED, reason="x")
    observation = HstsObservation(
        target="https://api.test/v1",
        https=Chain(start="https://api.test/v1", hops=(response(),), end=ChainEnd.FINAL),
        http=Chain(start="http://api.test/", hops=(), end=ChainEnd.FAILED, failure=failure),
    )
    families = _families("hsts")
    captured = capture(families, {"hsts": observation}, Scrubber(canary=CANARY_VALUE))
    assert captured.families["hsts"].observation is observation
    # The same with the canary echoed in a header: scrubbed, so decoded.
    echoed = response(headers=(("X-Echo", CANARY_VALUE),))
    changed = dataclasses.replace(
        observation, https=Chain(start=echoed.url, hops=(echoed,), end=ChainEnd.FINAL)
    )
    captured = capture(families, {"hsts": changed}, Scrubber(canary=CANARY_VALUE))
    kept = captured.families["hsts"].observation
    assert kept is not changed
    assert kept.https.hops[0].headers == (("X-Echo", CANARY),)


def test_a_secret_in_the_targets_strings_has_every_observation_decoded():
    """A secret in any string of the target (here: another family's exchange) is replaced all
    over its data: every observation is read back from it, none is judged as it was."""
    key = "AKIA" + "Z2XCV3BNM4QWE5RT"
    clean = HstsObservation(
        target="https://api.test/v1",
        https=Chain(start="https://api.test/v1", hops=(response(),), end=ChainEnd.FINAL),
        http=None,
    )
    captured = capture(_families("hsts"), {"hsts": clean}, Scrubber())
    assert captured.families["hsts"].observation is clean
    leaking = response(url="https://api.test/other", headers=(("X-Key", key),))
    families = _families("hsts", "proxy_headers")
    proxy = next(f for f in families if f.name == "proxy_headers")
    assert "baseline" in {f.name for f in dataclasses.fields(proxy.observation)}
    spoofed = proxy.observation(
        target="t", http_url="https://api.test/other", baseline=leaking, spoofed=()
    )
    captured = capture(families, {"hsts": clean, "proxy_headers": spoofed}, Scrubber())
    assert captured.families["hsts"].observation is not clean
    assert captured.families["hsts"].observation == clean
    assert key not in repr(captured.families["proxy_headers"].observation)


def test_the_verification_fails_loudly_on_a_difference():
    with pytest.raises(AssertionError, match=r"hsts\.count \(Level / int\)"):
        _verify(
            {"hsts": Captured(observation=Counted(count=Level.HIGH))},
            {"hsts": Captured(observation=Counted(count=3))},
        )
    _verify(
        {"hsts": Captured(observation=Counted(count=3))},
        {"hsts": Captured(observation=Counted(count=3))},
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mixed:
    """A union of an exchange and another dataclass: an exchange in it is written as a
    reference, which reading back refuses (it wants a ``$type``)."""

    value: HttpResponse | Square


def test_an_exchange_in_a_union_with_another_dataclass_is_not_exact():
    encoder = Encoder()
    encoder.exact = True
    encoder.encode(Mixed(value=response()), Mixed)
    assert not encoder.exact
    exact, decoded = encode(Mixed(value=Square(side=1)), Mixed)
    assert exact and decoded == Mixed(value=Square(side=1))
