"""The observation codec: every family's observation can be saved, and comes back equal; data
that does not fit its type is a CodecError naming where, never an object a check trips over."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json

import pytest

from keywire.checks.cleartext import CleartextObservation
from keywire.checks.hsts import HstsObservation
from keywire.net.models import Chain, ChainEnd, FailureKind, FetchFailure, HttpResponse, TlsInfo
from keywire.observations._codec import CodecError, Encoder, check_type
from keywire.observations._decode import Decoder
from keywire.registry import REGISTRY
from keywire.secrets import find_secrets
from keywire.secrets.scanner import SecretHit


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Square:
    side: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Circle:
    radius: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Everything:
    text: str
    raw: bytes
    binary: bytes
    when: datetime.datetime
    day: datetime.date
    colour: Colour
    names: frozenset[str]
    pairs: tuple[tuple[str, int], ...]
    shape: Square | Circle
    maybe: int | None
    either: str | int
    table: dict[str, float]
    hit: SecretHit
    added_later: str = "default"


def response(**changes: object) -> HttpResponse:
    fields: dict[str, object] = {
        "url": "https://api.test/v1",
        "method": "GET",
        "probe": "https-baseline",
        "status": 200,
        "reason": "OK",
        "headers": (("Content-Type", "application/json"),),
        "body": b'{"ok": true}',
        "body_truncated": False,
        "http_version": "HTTP/1.1",
        "elapsed_s": 0.01,
        "tls": TlsInfo(version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", verified=True),
    }
    fields.update(changes)
    return HttpResponse(**fields)  # type: ignore[arg-type]


def roundtrip(value: object, hint: object) -> object:
    encoder = Encoder()
    data = json.loads(json.dumps(encoder.encode(value, hint)))
    exchanges = json.loads(json.dumps(encoder.exchanges))
    return Decoder(exchanges).decode(data, hint)


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_every_familys_observation_can_be_saved(entry):
    check_type(entry.load().observation)


def test_a_type_that_cannot_be_saved_is_named():
    @dataclasses.dataclass(frozen=True)
    class Holder:
        callback: object

    with pytest.raises(CodecError, match=r"\$\.callback: no encoding"):
        check_type(Holder)


def test_every_kind_of_value_comes_back_equal():
    (hit,) = find_secrets("key=AKIAZ2XCV3BNM4QWE5RT", where="body")
    value = Everything(
        text="héllo",
        raw=b"plain text",
        binary=b"\x00\xff\xfe",
        when=datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc),
        day=datetime.date(2024, 5, 1),
        colour=Colour.RED,
        names=frozenset({"b", "a"}),
        pairs=(("x", 1), ("y", 2)),
        shape=Circle(radius=2.5),
        maybe=None,
        either=7,
        table={"p": 0.5},
        hit=hit,
    )
    assert roundtrip(value, Everything) == value
    decoded = roundtrip(value, Everything)
    assert decoded.hit.type is hit.type  # the catalogue's entry itself: today's rules


def test_exchanges_are_kept_once_and_shared():
    first = response()
    failure = FetchFailure(url="http://api.test/", probe="p", kind=FailureKind.REFUSED, reason="x")
    chain = Chain(start=first.url, hops=(first,), end=ChainEnd.FINAL)
    observation = HstsObservation(
        target="t",
        https=chain,
        http=Chain(start="http://api.test/", hops=(), end=ChainEnd.FAILED, failure=failure),
    )
    encoder = Encoder()
    data = encoder.encode(observation, HstsObservation)
    again = encoder.encode(
        CleartextObservation(
            target="t",
            http_url=None,
            missing_reason="",
            baseline=first,
            canaries=(),
            baseline_repeat=failure,
            canary="",
        ),
        CleartextObservation,
    )
    assert len(encoder.exchanges) == 2
    assert [e["type"] for e in encoder.exchanges] == ["response", "failure"]
    decoder = Decoder(json.loads(json.dumps(encoder.exchanges)))
    hsts = decoder.decode(data, HstsObservation)
    cleartext = decoder.decode(again, CleartextObservation)
    assert hsts == observation
    assert cleartext.baseline is hsts.https.hops[0]


def test_a_field_added_since_keeps_its_default_and_unknown_fields_are_ignored():
    encoder = Encoder()
    data = encoder.encode(Square(side=2), Square)
    assert Decoder([]).decode({**data, "removed_since": 1}, Square) == Square(side=2)
    value = Everything.__dataclass_fields__["added_later"]
    assert value.default == "default"


@pytest.mark.parametrize(
    ("data", "hint", "where"),
    [
        ({"side": "2"}, Square, r"\$\.side: expected an integer"),
        ({"side": True}, Square, r"\$\.side: expected an integer"),
        ({}, Square, r"\$: no 'side'"),
        ("square", Square, r"\$: expected dict"),
        ({"radius": 1}, Square | Circle, r"expected \{'\$type'"),
        ({"$type": "Triangle"}, Square | Circle, "none of the types"),
        ("blue", Colour, "not a Colour"),
        ({"$text": 1}, bytes, "expected str"),
        ({"$base64": "@@"}, bytes, "not base64"),
        ({"$hex": "00"}, bytes, r"expected \{'\$text'"),
        ("yesterday", datetime.datetime, "not an ISO 8601 date"),
        (
            "no-such-secret",
            type(find_secrets("AKIAZ2XCV3BNM4QWE5RT", where="b")[0].type),
            "no SecretType",
        ),
        (["a"], tuple[str, str], "expected 2 items"),
        ({"$ref": 0}, HttpResponse, "not a reference"),
    ],
)
def test_data_that_does_not_fit_is_a_codec_error(data, hint, where):
    with pytest.raises(CodecError, match=where):
        Decoder([]).decode(data, hint)


def test_an_exchange_of_the_wrong_kind_or_shape_is_refused():
    encoder = Encoder()
    data = encoder.encode(response(), HttpResponse)
    table = json.loads(json.dumps(encoder.exchanges))
    with pytest.raises(CodecError, match="not a FetchFailure"):
        Decoder(table).decode(data, FetchFailure)
    table[0]["type"] = "other"
    with pytest.raises(CodecError, match="not a response or a failure"):
        Decoder(table).decode(data, HttpResponse)
    with pytest.raises(CodecError, match="exchanges: expected a list"):
        Decoder({"0": {}})  # type: ignore[arg-type]


def test_values_of_the_wrong_type_are_not_written():
    with pytest.raises(CodecError, match=r"\$\.side: expected int, got str"):
        Encoder().encode(Square(side="2"), Square)  # type: ignore[arg-type]
