"""The parsers of server messages and records: strict on every length, and fuzzed."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keywire.tls._constants import HRR_RANDOM, Version
from keywire.tls._wire import DecodeError, Reader
from keywire.tls.connection import Mode, Status, _Flight
from keywire.tls.messages import (
    parse_certificate,
    parse_certificate_status,
    parse_server_hello,
    parse_server_key_exchange,
    parse_ssl2_server_hello,
)
from keywire.tls.records import HandshakeAssembler, Record, RecordStream, Ssl2Message, parse_alert
from keywire.tls.suites import by_code


def vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def ext(kind: int, body: bytes) -> bytes:
    return struct.pack(">H", kind) + vec(body, 2)


def server_hello(
    *,
    version: int = 0x0303,
    suite: int = 0xC02F,
    extensions: bytes | None = None,
    random: bytes = b"\x01" * 32,
) -> bytes:
    body = struct.pack(">H", version) + random + vec(b"\x02" * 32, 1) + struct.pack(">HB", suite, 0)
    if extensions is not None:
        body += vec(extensions, 2)
    return body


def handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + vec(body, 3)


def record(kind: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", kind, version, len(payload)) + payload


CERT = b"\x30\x82" + bytes(300)
DH_PRIME = (1 << 2047 | 1).to_bytes(256, "big")
FLIGHT = record(
    22,
    handshake(
        2,
        server_hello(
            suite=0x009E, extensions=ext(0xFF01, b"\x00") + ext(16, vec(vec(b"h2", 1), 2))
        ),
    )
    + handshake(11, vec(vec(CERT, 3) + vec(CERT, 3), 3))
    + handshake(
        12,
        vec(DH_PRIME, 2)
        + vec(b"\x02", 2)
        + vec(b"\x05" * 256, 2)
        + b"\x04\x01"
        + vec(bytes(256), 2),
    )
    + handshake(22, b"\x01" + vec(b"ocsp-response", 3))
    + handshake(14, b""),
)


# -- ServerHello --------------------------------------------------------------------------


def test_server_hello_extensions() -> None:
    hello = parse_server_hello(
        server_hello(extensions=ext(0xFF01, b"\x00") + ext(16, vec(vec(b"h2", 1), 2)) + ext(5, b""))
    )
    assert hello.secure_renegotiation and hello.status_request
    assert hello.alpn == "h2"
    assert hello.extension_types == (0xFF01, 16, 5)


def test_tls13_server_hello_and_retry_request() -> None:
    share = ext(51, struct.pack(">H", 29) + vec(b"\x09" * 32, 2))
    hello = parse_server_hello(server_hello(suite=0x1301, extensions=ext(43, b"\x03\x04") + share))
    assert hello.version == Version.TLS13 and hello.key_share_group == 29
    assert hello.key_share == b"\x09" * 32 and not hello.retry_request
    retry = parse_server_hello(
        server_hello(
            suite=0x1302,
            random=HRR_RANDOM,
            extensions=ext(43, b"\x03\x04")
            + ext(51, struct.pack(">H", 0x11EC))
            + ext(44, vec(b"c", 2)),
        )
    )
    assert retry.retry_request and retry.key_share_group == 0x11EC and retry.cookie == b"c"


@pytest.mark.parametrize(
    "body",
    [
        server_hello()[:-1],
        server_hello() + b"\x00",
        server_hello(extensions=ext(5, b"") + ext(5, b"")),
        server_hello(extensions=ext(43, b"\x03\x04"), version=0x0301),
        server_hello(random=HRR_RANDOM, extensions=b""),
        struct.pack(">H", 0x0303) + bytes(32) + vec(bytes(33), 1) + bytes(3),
        server_hello(extensions=ext(16, vec(vec(b"", 1), 2))),
        server_hello(extensions=ext(51, struct.pack(">H", 29) + vec(b"", 2)), suite=0x1301),
    ],
    ids=[
        "short",
        "trailing",
        "duplicate",
        "tls13-bad-legacy",
        "hrr-no-versions",
        "long-session",
        "empty-alpn",
        "empty-share",
    ],
)
def test_server_hello_rejects_malformed(body: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_server_hello(body)


# -- Certificate, CertificateStatus, ServerKeyExchange, SSLv2 -----------------------------


def test_certificate_tls12_and_tls13() -> None:
    assert parse_certificate(
        vec(vec(CERT, 3) + vec(b"\x30\x00", 3), 3), tls13=False
    ).certificates == (
        CERT,
        b"\x30\x00",
    )
    status = ext(5, b"\x01" + vec(b"ocsp", 3))
    body = vec(b"", 1) + vec(vec(CERT, 3) + vec(status, 2) + vec(b"\x30\x00", 3) + vec(b"", 2), 3)
    message = parse_certificate(body, tls13=True)
    assert message.certificates == (CERT, b"\x30\x00")
    assert message.ocsp_response == b"ocsp"
    with pytest.raises(DecodeError):
        parse_certificate(vec(vec(b"", 3), 3), tls13=False)
    with pytest.raises(DecodeError):
        parse_certificate_status(b"\x02" + vec(b"x", 3))


def test_server_key_exchange_kinds() -> None:
    dh = parse_server_key_exchange(
        vec(DH_PRIME, 2) + vec(b"\x02", 2) + vec(b"\x05", 2), by_code(0x009E)
    )
    assert (dh.kind, dh.dh_bits) == ("DH", 2048)
    ec = parse_server_key_exchange(b"\x03\x00\x1d" + vec(bytes(32), 1), by_code(0xC02F))
    assert (ec.kind, ec.group) == ("ECDH", 29)
    explicit = parse_server_key_exchange(b"\x01" + bytes(40), by_code(0xC02F))
    assert explicit.explicit_curve
    rsa = parse_server_key_exchange(
        vec((1 << 511 | 1).to_bytes(64, "big"), 2) + vec(b"\x03", 2), by_code(0x0003)
    )
    assert (rsa.kind, rsa.rsa_bits) == ("RSA", 512)
    psk = parse_server_key_exchange(vec(b"hint", 2), by_code(0x008C))
    assert psk.kind == "PSK"
    dhe_psk = parse_server_key_exchange(
        vec(b"", 2) + vec(b"\xff" * 128, 2) + vec(b"\x02", 2) + vec(b"\x01", 2), by_code(0x0090)
    )
    assert dhe_psk.dh_bits == 1024
    with pytest.raises(DecodeError):
        parse_server_key_exchange(b"\x07\x00\x17", by_code(0xC02F))
    with pytest.raises(DecodeError):
        parse_server_key_exchange(vec(b"", 2) + vec(b"\x02", 2) + vec(b"\x05", 2), by_code(0x009E))


def test_ssl2_server_hello() -> None:
    specs = bytes.fromhex("010080020080")
    msg = bytes([4, 0, 1]) + struct.pack(">HHHH", 2, 3, len(specs), 16) + b"abc" + specs + bytes(16)
    hello = parse_ssl2_server_hello(msg)
    assert hello.ciphers == (0x010080, 0x020080) and hello.certificate == b"abc"
    with pytest.raises(DecodeError):
        parse_ssl2_server_hello(msg[:3] + struct.pack(">HHHH", 2, 3, 5, 16) + msg[11:])


# -- records ---------------------------------------------------------------------------------


def test_records_byte_by_byte_and_coalesced() -> None:
    stream = RecordStream()
    got: list[Record | Ssl2Message] = []
    data = record(22, b"abc") + record(21, b"\x02\x28")
    for byte in data:
        stream.feed(bytes([byte]))
        got += stream.records()
    assert got == [Record(22, 0x0303, b"abc"), Record(21, 0x0303, b"\x02\x28")]
    assert parse_alert(b"\x02\x28").fatal


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n", "plain text"),
        (b"\x16\x03\x03\xff\xff", "exceeds"),
        (b"\x16\x05\x00\x00\x01", "version"),
        (b"\x99\x03", "not a TLS record"),
    ],
)
def test_records_reject_garbage(data: bytes, reason: str) -> None:
    stream = RecordStream()
    stream.feed(data)
    with pytest.raises(DecodeError, match=reason):
        stream.records()


def test_ssl2_framing_only_when_asked() -> None:
    stream = RecordStream(allow_ssl2=True)
    stream.feed(b"\x80\x03abc" + record(21, b"\x02\x28"))
    assert stream.records() == [Ssl2Message(b"abc"), Record(21, 0x0303, b"\x02\x28")]


def test_handshake_fragmented_across_records_and_bounded() -> None:
    message = handshake(11, bytes(5000))
    assembler = HandshakeAssembler()
    assert assembler.feed(message[:3]) == []
    assert assembler.feed(message[3:2000]) == []
    (whole,) = assembler.feed(message[2000:] + handshake(14, b""))[:1]
    assert whole.msg_type == 11 and len(whole.body) == 5000
    with pytest.raises(DecodeError):
        HandshakeAssembler(max_message=1000).feed(handshake(11, bytes(2000))[:10])


def test_alert_lengths() -> None:
    with pytest.raises(DecodeError):
        parse_alert(b"\x02")
    assert parse_alert(b"\x01\x00\x02\x28").description == 0


# -- a whole flight, in any chunking ----------------------------------------------------------


def _feed(data: bytes, cuts: list[int], mode: Mode = Mode.FLIGHT) -> _Flight:
    flight = _Flight(mode)
    start = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        if flight.done:
            break
        flight.feed(data[start:cut])
        start = cut
    return flight


def test_flight_reads_every_message() -> None:
    flight = _feed(FLIGHT, [])
    answer = flight.answer(Status.HELLO)
    assert answer.complete and answer.picked == 0x009E
    assert answer.certificates == (CERT, CERT)
    assert answer.key_exchange is not None and answer.key_exchange.dh_bits == 2048
    assert answer.ocsp_response == b"ocsp-response"
    assert answer.server_hello is not None and answer.server_hello.alpn == "h2"


@given(st.lists(st.integers(min_value=1, max_value=len(FLIGHT) - 1), max_size=40))
def test_flight_is_the_same_however_it_is_fragmented(cuts: list[int]) -> None:
    # Records split at arbitrary TCP boundaries, and the same messages re-framed into records
    # of arbitrary sizes, parse to the same answer.
    assert _feed(FLIGHT, cuts).answer(Status.HELLO) == _feed(FLIGHT, []).answer(Status.HELLO)
    payload = FLIGHT[5:]
    reframed = b"".join(
        record(22, payload[a:b])
        for a, b in zip([0, *sorted(set(cuts))], [*sorted(set(cuts)), len(payload)], strict=True)
        if b > a
    )
    assert _feed(reframed, []).answer(Status.HELLO) == _feed(FLIGHT, []).answer(Status.HELLO)


PARSERS = [
    lambda b: parse_server_hello(b),
    lambda b: parse_certificate(b, tls13=False),
    lambda b: parse_certificate(b, tls13=True),
    lambda b: parse_certificate_status(b),
    lambda b: parse_server_key_exchange(b, by_code(0x009E)),
    lambda b: parse_server_key_exchange(b, by_code(0xC02F)),
    lambda b: parse_server_key_exchange(b, by_code(0x0003)),
    lambda b: parse_server_key_exchange(b, by_code(0x00AA)),
    lambda b: parse_ssl2_server_hello(b),
]


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from(range(len(PARSERS))))
def test_fuzz_message_parsers_raise_only_decode_error(data: bytes, which: int) -> None:
    with contextlib.suppress(DecodeError):
        PARSERS[which](data)


@settings(max_examples=300)
@given(st.binary(max_size=2000), st.sampled_from(list(Mode)))
def test_fuzz_flight_raises_only_decode_error(data: bytes, mode: Mode) -> None:
    with contextlib.suppress(DecodeError):
        _feed(data, [len(data) // 2], mode)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.integers(0, len(FLIGHT) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_fuzz_mutated_flight(mutations: list[tuple[int, int]]) -> None:
    data = bytearray(FLIGHT)
    for position, value in mutations:
        data[position] = value
    try:
        flight = _feed(bytes(data), [])
    except DecodeError:
        return
    answer = flight.answer(Status.HELLO)
    assert len(answer.certificates) <= 32


def test_reader_never_reads_past_the_end() -> None:
    reader = Reader(b"\x00\x05ab", "test")
    with pytest.raises(DecodeError, match="needs 5"):
        reader.vec16()
