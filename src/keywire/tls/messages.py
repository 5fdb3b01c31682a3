"""Parsers for what a server sends during the handshake, each strict about every length.

Every function takes the body of one message and returns a frozen value, or raises
:class:`~keywire.tls._wire.DecodeError` with a reason. None of them trusts a length field.
"""

from __future__ import annotations

from .._dataclass import dataclass
from ._constants import (
    EXT_ALPN,
    EXT_COOKIE,
    EXT_KEY_SHARE,
    EXT_RENEGOTIATION_INFO,
    EXT_STATUS_REQUEST,
    EXT_SUPPORTED_VERSIONS,
    HRR_RANDOM,
    Version,
)
from ._wire import DecodeError, Reader
from .suites import CipherSuite

MAX_EXTENSIONS = 64
MAX_CERTIFICATES = 32


@dataclass(frozen=True, kw_only=True)
class ServerHello:
    """A ServerHello or HelloRetryRequest, with the extensions keywire looks at decoded."""

    version: int
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression: int
    extension_types: tuple[int, ...]
    retry_request: bool = False
    key_share_group: int | None = None
    key_share: bytes = b""
    cookie: bytes = b""
    alpn: str | None = None
    secure_renegotiation: bool = False
    status_request: bool = False


def _extensions(reader: Reader, what: str) -> list[tuple[int, bytes]]:
    found: list[tuple[int, bytes]] = []
    block = Reader(reader.vec16(), f"{what} extensions")
    while block.remaining:
        kind = block.u16()
        data = block.vec16()
        if any(kind == seen for seen, _ in found):
            raise DecodeError(f"{what}: extension {kind} appears twice")
        found.append((kind, data))
        if len(found) > MAX_EXTENSIONS:
            raise DecodeError(f"{what}: more than {MAX_EXTENSIONS} extensions")
    return found


def parse_alpn(data: bytes) -> str:
    reader = Reader(data, "ALPN extension")
    names = Reader(reader.vec16(), "ALPN protocol list")
    reader.done()
    name = names.vec8()
    names.done()
    if not name:
        raise DecodeError("ALPN extension: empty protocol name")
    return name.decode("ascii", "replace")


def parse_server_hello(body: bytes) -> ServerHello:
    """Parse a ServerHello (or HelloRetryRequest) body.

    >>> hello = parse_server_hello(bytes.fromhex("0303") + bytes(32) + bytes.fromhex("00c02f00"))
    >>> hex(hello.cipher_suite), hello.version
    ('0xc02f', 771)
    """
    reader = Reader(body, "ServerHello")
    legacy_version = reader.u16()
    random = reader.take(32)
    session_id = reader.vec8()
    if len(session_id) > 32:
        raise DecodeError("ServerHello: session id longer than 32 bytes")
    suite = reader.u16()
    compression = reader.u8()
    extensions = _extensions(reader, "ServerHello") if reader.remaining else []
    reader.done()
    retry = random == HRR_RANDOM
    version = legacy_version
    group: int | None = None
    share = b""
    cookie = b""
    alpn: str | None = None
    renegotiation = False
    status = False
    for kind, data in extensions:
        ext = Reader(data, f"ServerHello extension {kind}")
        if kind == EXT_SUPPORTED_VERSIONS:
            version = ext.u16()
            ext.done()
        elif kind == EXT_KEY_SHARE:
            group = ext.u16()
            if not retry:
                share = ext.vec16()
                if not share:
                    raise DecodeError("ServerHello: empty key share")
            ext.done()
        elif kind == EXT_COOKIE:
            cookie = ext.vec16()
            ext.done()
        elif kind == EXT_ALPN:
            alpn = parse_alpn(data)
        elif kind == EXT_RENEGOTIATION_INFO:
            ext.vec8()
            ext.done()
            renegotiation = True
        elif kind == EXT_STATUS_REQUEST:
            status = True
    if version == Version.TLS13 and legacy_version != Version.TLS12:
        raise DecodeError("ServerHello: TLS 1.3 with a legacy version other than 3.3")
    if retry and version != Version.TLS13:
        raise DecodeError("HelloRetryRequest without supported_versions TLS 1.3")
    return ServerHello(
        version=version,
        legacy_version=legacy_version,
        random=random,
        session_id=session_id,
        cipher_suite=suite,
        compression=compression,
        extension_types=tuple(kind for kind, _ in extensions),
        retry_request=retry,
        key_share_group=group,
        key_share=share,
        cookie=cookie,
        alpn=alpn,
        secure_renegotiation=renegotiation,
        status_request=status,
    )


@dataclass(frozen=True, kw_only=True)
class CertificateMessage:
    """The DER certificates of a Certificate message, leaf first, and a stapled OCSP response."""

    certificates: tuple[bytes, ...]
    ocsp_response: bytes = b""


def parse_certificate(body: bytes, *, tls13: bool) -> CertificateMessage:
    reader = Reader(body, "Certificate")
    if tls13:
        reader.vec8()  # certificate_request_context
    entries = Reader(reader.vec24(), "certificate list")
    reader.done()
    certs: list[bytes] = []
    ocsp = b""
    while entries.remaining:
        der = entries.vec24()
        if not der:
            raise DecodeError("Certificate: empty certificate entry")
        certs.append(der)
        if len(certs) > MAX_CERTIFICATES:
            raise DecodeError(f"Certificate: more than {MAX_CERTIFICATES} certificates")
        if tls13:
            for kind, data in _extensions(entries, "certificate entry"):
                if kind == EXT_STATUS_REQUEST and len(certs) == 1:
                    ocsp = parse_certificate_status(data)
    return CertificateMessage(certificates=tuple(certs), ocsp_response=ocsp)


def parse_certificate_status(body: bytes) -> bytes:
    """The OCSP response of a CertificateStatus message (or TLS 1.3 status_request entry)."""
    reader = Reader(body, "CertificateStatus")
    kind = reader.u8()
    if kind != 1:
        raise DecodeError(f"CertificateStatus: unknown status type {kind}")
    response = reader.vec24()
    reader.done()
    return response


@dataclass(frozen=True, kw_only=True)
class KeyExchange:
    """What a ServerKeyExchange reveals: the DH prime size, or the named curve, or RSA_EXPORT."""

    kind: str  # "DH", "ECDH", "RSA", "SRP", "PSK" or "OTHER"
    dh_bits: int = 0
    group: int | None = None
    explicit_curve: bool = False
    rsa_bits: int = 0
    #: DH: the prime and generator as sent (big-endian), for the group analysis.
    dh_prime: bytes = b""
    dh_generator: bytes = b""
    #: The server's ephemeral public value (DH Ys or the EC point): tells key reuse apart.
    public: bytes = b""


def parse_server_key_exchange(body: bytes, suite: CipherSuite) -> KeyExchange:
    """Decode the parameters of a ServerKeyExchange for ``suite`` (the signature is skipped)."""
    reader = Reader(body, "ServerKeyExchange")
    if suite.auth == "PSK" or suite.kex == "PSK":
        reader.vec16()  # psk_identity_hint
        if suite.kex in ("PSK", "RSA"):
            return KeyExchange(kind="PSK")
    if suite.kex in ("DHE", "DH"):
        prime = reader.vec16()
        generator = reader.vec16()
        public = reader.vec16()
        if not prime or not generator or not public:
            raise DecodeError("ServerKeyExchange: empty DH parameter")
        return KeyExchange(
            kind="DH",
            dh_bits=int.from_bytes(prime, "big").bit_length(),
            dh_prime=prime,
            dh_generator=generator,
            public=public,
        )
    if suite.kex in ("ECDHE", "ECDH"):
        curve_type = reader.u8()
        if curve_type == 3:
            group = reader.u16()
            point = reader.vec8()
            if not point:
                raise DecodeError("ServerKeyExchange: empty EC point")
            return KeyExchange(kind="ECDH", group=group, public=point)
        if curve_type in (1, 2):
            return KeyExchange(kind="ECDH", explicit_curve=True)
        raise DecodeError(f"ServerKeyExchange: unknown curve type {curve_type}")
    if suite.kex == "RSA":
        modulus = reader.vec16()
        if not modulus or not reader.vec16():
            raise DecodeError("ServerKeyExchange: empty RSA parameter")
        return KeyExchange(kind="RSA", rsa_bits=int.from_bytes(modulus, "big").bit_length())
    if suite.kex == "SRP":
        prime = reader.vec16()
        return KeyExchange(kind="SRP", dh_bits=int.from_bytes(prime, "big").bit_length())
    return KeyExchange(kind="OTHER")


@dataclass(frozen=True, kw_only=True)
class Ssl2ServerHello:
    """An SSL 2.0 SERVER-HELLO: the server's version, its certificate and every cipher it has."""

    version: int
    certificate: bytes
    ciphers: tuple[int, ...]


def parse_ssl2_server_hello(msg: bytes) -> Ssl2ServerHello:
    reader = Reader(msg, "SSLv2 SERVER-HELLO")
    if reader.u8() != 4:
        raise DecodeError("SSLv2: expected SERVER-HELLO (message type 4)")
    reader.u8()  # session id hit
    reader.u8()  # certificate type
    version = reader.u16()
    cert_len = reader.u16()
    specs_len = reader.u16()
    conn_id_len = reader.u16()
    if specs_len % 3:
        raise DecodeError("SSLv2 SERVER-HELLO: cipher specs not a multiple of 3 bytes")
    if not 16 <= conn_id_len <= 32:
        raise DecodeError(f"SSLv2 SERVER-HELLO: connection id of {conn_id_len} bytes")
    certificate = reader.take(cert_len)
    specs = reader.take(specs_len)
    reader.take(conn_id_len)
    reader.done()
    ciphers = tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, len(specs), 3))
    return Ssl2ServerHello(version=version, certificate=certificate, ciphers=ciphers)
