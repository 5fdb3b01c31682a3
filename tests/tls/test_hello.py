"""ClientHellos as keywire writes them, read back by tlslite-ng's independent parser."""

from __future__ import annotations

import warnings

import pytest

from keywire.tls import suites
from keywire.tls._constants import Group, Version
from keywire.tls._suite_table import EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV
from keywire.tls.hello import (
    HelloSpec,
    client_hello,
    client_hello_records,
    records,
    sslv2_client_hello,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from tlslite.constants import ExtensionType
    from tlslite.messages import ClientHello
    from tlslite.utils.codec import Parser


def _parse(message: bytes) -> ClientHello:
    assert message[0] == 1
    assert int.from_bytes(message[1:4], "big") == len(message) - 4
    return ClientHello().parse(Parser(bytearray(message[1:])))


def test_tls12_hello_parses_with_tlslite() -> None:
    offer = tuple(s.code for s in suites.for_version(Version.TLS12))[:100]
    hello = _parse(
        client_hello(HelloSpec(version=Version.TLS12, suites=offer, server_name="api.example"))
    )
    assert tuple(hello.client_version) == (3, 3)
    assert tuple(hello.cipher_suites) == offer
    assert hello.server_name == bytearray(b"api.example")
    kinds = {ext.extType for ext in hello.extensions}
    assert {
        ExtensionType.supported_groups,
        ExtensionType.signature_algorithms,
        ExtensionType.alpn,
        ExtensionType.status_request,
        ExtensionType.renegotiation_info,
        ExtensionType.ec_point_formats,
    } <= kinds
    assert ExtensionType.supported_versions not in kinds
    alpn = hello.getExtension(ExtensionType.alpn)
    assert [bytes(p) for p in alpn.protocol_names] == [b"h2", b"http/1.1"]


def test_tls13_hello_parses_with_tlslite() -> None:
    share = bytes(range(32))
    spec = HelloSpec(
        version=Version.TLS13,
        suites=(0x1301, 0x1302),
        server_name="api.example",
        key_shares=((Group.X25519, share),),
        session_id=bytes(32),
        cookie=b"cookie",
    )
    hello = _parse(client_hello(spec))
    assert tuple(hello.client_version) == (3, 3)
    versions = hello.getExtension(ExtensionType.supported_versions)
    assert [tuple(v) for v in versions.versions] == [(3, 4)]
    shares = hello.getExtension(ExtensionType.key_share)
    assert [(s.group, bytes(s.key_exchange)) for s in shares.client_shares] == [(29, share)]
    assert hello.getExtension(ExtensionType.cookie).cookie == bytearray(b"cookie")
    assert list(hello.compression_methods) == [0]


def test_ssl3_hello_has_no_extensions_but_the_scsv() -> None:
    message = client_hello(HelloSpec(version=Version.SSL3, suites=(0x000A,)))
    hello = _parse(message)
    assert hello.extensions is None
    assert list(hello.cipher_suites) == [0x000A, EMPTY_RENEGOTIATION_INFO_SCSV]
    assert (
        client_hello_records(HelloSpec(version=Version.SSL3, suites=(0x000A,)))[1:3] == b"\x03\x00"
    )


def test_fallback_and_compression_offers() -> None:
    spec = HelloSpec(
        version=Version.TLS11, suites=(0x002F,), fallback_scsv=True, offer_compression=True
    )
    hello = _parse(client_hello(spec))
    assert list(hello.cipher_suites) == [0x002F, FALLBACK_SCSV]
    assert list(hello.compression_methods) == [1, 0]
    kinds = {ext.extType for ext in hello.extensions}
    assert ExtensionType.signature_algorithms not in kinds  # TLS 1.2 and later only


@pytest.mark.parametrize("count", range(1, 200, 7))
def test_hello_sizes_avoid_the_256_to_511_byte_range(count: int) -> None:
    offer = tuple(s.code for s in suites.ALL)[:count]
    for version in (Version.TLS10, Version.TLS12, Version.TLS13):
        size = len(client_hello(HelloSpec(version=version, suites=offer)))
        assert not 256 <= size < 512, (version, count, size)


def test_records_split_at_16k() -> None:
    data = records(22, 0x0301, bytes(40000))
    assert data[3:5] == (16384).to_bytes(2, "big")
    assert len(data) == 40000 + 3 * 5


def test_sslv2_hello_layout() -> None:
    data = sslv2_client_hello((0x010080, 0x0700C0), tls_suites=(0x002F,))
    length = ((data[0] & 0x7F) << 8) | data[1]
    assert data[0] & 0x80 and length == len(data) - 2
    body = data[2:]
    assert body[0] == 1 and body[1:3] == b"\x00\x02"
    specs_len = int.from_bytes(body[3:5], "big")
    assert specs_len == 9
    assert int.from_bytes(body[7:9], "big") == 16  # challenge
    assert body[9 : 9 + specs_len] == bytes.fromhex("010080 0700c0 00002f")
