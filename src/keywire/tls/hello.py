"""ClientHellos, byte by byte: SSL 2.0, SSL 3.0 - TLS 1.2, and TLS 1.3.

keywire writes its hellos itself so it can offer anything a server might accept (EXPORT, NULL,
GOST, post-quantum groups...) regardless of what the local OpenSSL supports: an offer costs
nothing, and only what the server answers is reported.
"""

from __future__ import annotations

import functools
import os
import random as _random
import struct

from .._dataclass import dataclass
from ._constants import (
    EXT_ALPN,
    EXT_COOKIE,
    EXT_EARLY_DATA,
    EXT_EC_POINT_FORMATS,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_HEARTBEAT,
    EXT_KEY_SHARE,
    EXT_PADDING,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_RENEGOTIATION_INFO,
    EXT_SERVER_NAME,
    EXT_SESSION_TICKET,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_STATUS_REQUEST,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    HANDSHAKE,
    SIGNATURE_SCHEMES,
    Group,
    Version,
)
from ._suite_table import EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV
from ._wire import u8, u16, u24, vec8, vec16

MAX_RECORD = 16384

#: Groups offered in TLS <= 1.2 hellos: every curve. Finite-field groups are left out on purpose
#: so that a server shows the DH parameters it gives clients that do not know RFC 7919.
LEGACY_GROUPS: tuple[int, ...] = tuple(
    g
    for g in (
        Group.X25519,
        Group.SECP256R1,
        Group.X448,
        Group.SECP384R1,
        Group.SECP521R1,
        *(g for g in Group if g.value <= 28 and g.value not in (23, 24, 25)),
    )
)
#: Groups valid in TLS 1.3, preferred first.
TLS13_GROUPS: tuple[int, ...] = (
    Group.X25519,
    Group.SECP256R1,
    Group.X448,
    Group.SECP384R1,
    Group.SECP521R1,
    Group.X25519MLKEM768,
    Group.SECP256R1MLKEM768,
    Group.SECP384R1MLKEM1024,
    Group.X25519KYBER768DRAFT00,
    Group.SECP256R1KYBER768DRAFT00,
    Group.MLKEM512,
    Group.MLKEM768,
    Group.MLKEM1024,
    Group.FFDHE2048,
    Group.FFDHE3072,
    Group.FFDHE4096,
    Group.FFDHE6144,
    Group.FFDHE8192,
    Group.BRAINPOOLP256R1TLS13,
    Group.BRAINPOOLP384R1TLS13,
    Group.BRAINPOOLP512R1TLS13,
    Group.CURVESM2,
    Group.GC256A,
    Group.GC256B,
    Group.GC256C,
    Group.GC256D,
    Group.GC512A,
    Group.GC512B,
    Group.GC512C,
)
DEFAULT_ALPN = ("h2", "http/1.1")


@dataclass(frozen=True, kw_only=True)
class HelloSpec:
    """What one ClientHello offers.

    ``version`` is the highest version offered (TLS 1.3 puts it in ``supported_versions``).
    ``key_shares`` is only used for TLS 1.3; an empty tuple asks the server to choose a group
    with a HelloRetryRequest.
    """

    version: int
    suites: tuple[int, ...]
    server_name: str | None = None
    groups: tuple[int, ...] = ()
    key_shares: tuple[tuple[int, bytes], ...] = ()
    alpn: tuple[str, ...] = DEFAULT_ALPN
    offer_compression: bool = False
    fallback_scsv: bool = False
    status_request: bool = True
    random: bytes = b""
    session_id: bytes = b""
    cookie: bytes = b""
    #: The SessionTicket extension's content (RFC 5077): empty asks for a ticket, None omits it.
    session_ticket: bytes | None = b""
    #: renegotiation_info's content: empty on a first hello, client_verify_data when renegotiating.
    renegotiation_info: bytes = b""
    #: Offer the heartbeat extension (RFC 6520, peer allowed to send).
    heartbeat: bool = False
    #: TLS 1.3: announce early data (RFC 8446 §4.2.10).
    early_data: bool = False
    #: TLS 1.3: the pre_shared_key extension's body; always the last extension.
    pre_shared_key: bytes = b""


#: Randoms of the enumeration's hellos, which never lead to a session: unpredictability buys
#: nothing there, and a thousand getrandom() calls per batch cost more than the hellos. The
#: handshakes keywire completes pass their own random from os.urandom.
_HELLO_RANDOM = _random.Random(os.urandom(32))  # noqa: S311


def hello_bytes(size: int) -> bytes:
    return _HELLO_RANDOM.randbytes(size)


def _ext(kind: int, body: bytes) -> bytes:
    return u16(kind) + vec16(body)


def _u16s(values: tuple[int, ...] | list[int]) -> bytes:
    return struct.pack(f">{len(values)}H", *values)


# The parts of every hello that never change, encoded once.
_STATUS_REQUEST = _ext(EXT_STATUS_REQUEST, u8(1) + u16(0) + u16(0))
_POINT_FORMATS = _ext(EXT_EC_POINT_FORMATS, vec8(bytes([0, 1, 2])))
_SIGNATURE_ALGORITHMS = _ext(EXT_SIGNATURE_ALGORITHMS, vec16(_u16s(SIGNATURE_SCHEMES)))
_EMS = _ext(EXT_EXTENDED_MASTER_SECRET, b"")
_TAIL = _EMS + _ext(EXT_SESSION_TICKET, b"")
_HEARTBEAT = _ext(EXT_HEARTBEAT, u8(1))
_EARLY_DATA = _ext(EXT_EARLY_DATA, b"")
_TLS13 = _ext(EXT_SUPPORTED_VERSIONS, vec8(u16(Version.TLS13))) + _ext(
    EXT_PSK_KEY_EXCHANGE_MODES, vec8(u8(1))
)
_RENEGOTIATION = _ext(EXT_RENEGOTIATION_INFO, vec8(b""))


@functools.lru_cache(maxsize=64)
def _groups(groups: tuple[int, ...]) -> bytes:
    return _ext(EXT_SUPPORTED_GROUPS, vec16(_u16s(groups)))


@functools.lru_cache(maxsize=8)
def _alpn(protocols: tuple[str, ...]) -> bytes:
    return _ext(EXT_ALPN, vec16(b"".join(vec8(p.encode("ascii")) for p in protocols)))


def _extensions(spec: HelloSpec) -> list[bytes]:
    tls13 = spec.version >= Version.TLS13
    exts: list[bytes] = []
    if spec.server_name:
        name = spec.server_name.encode("ascii")
        exts.append(_ext(EXT_SERVER_NAME, vec16(u8(0) + vec16(name))))
    if spec.status_request:
        exts.append(_STATUS_REQUEST)
    exts.append(_groups(spec.groups or (TLS13_GROUPS if tls13 else LEGACY_GROUPS)))
    if not tls13:
        exts.append(_POINT_FORMATS)
    if spec.version >= Version.TLS12:
        exts.append(_SIGNATURE_ALGORITHMS)
    if spec.alpn:
        exts.append(_alpn(spec.alpn))
    if spec.session_ticket == b"":
        exts.append(_TAIL)
    else:
        exts.append(_EMS)
        if spec.session_ticket is not None:
            exts.append(_ext(EXT_SESSION_TICKET, spec.session_ticket))
    if spec.heartbeat:
        exts.append(_HEARTBEAT)
    if tls13:
        exts.append(_TLS13)
        shares = b"".join(u16(g) + vec16(key) for g, key in spec.key_shares)
        exts.append(_ext(EXT_KEY_SHARE, vec16(shares)))
        if spec.cookie:
            exts.append(_ext(EXT_COOKIE, vec16(spec.cookie)))
        if spec.early_data:
            exts.append(_EARLY_DATA)
    if spec.renegotiation_info:
        exts.append(_ext(EXT_RENEGOTIATION_INFO, vec8(spec.renegotiation_info)))
    else:
        exts.append(_RENEGOTIATION)
    return exts


def client_hello(spec: HelloSpec) -> bytes:
    """The ClientHello handshake message (type, length and body) for ``spec``."""
    legacy_version = min(spec.version, Version.TLS12)
    suites = list(spec.suites)
    ssl3 = spec.version <= Version.SSL3
    if ssl3:
        suites.append(EMPTY_RENEGOTIATION_INFO_SCSV)
    if spec.fallback_scsv:
        suites.append(FALLBACK_SCSV)
    random = spec.random or hello_bytes(32)
    session_id = spec.session_id
    compression = bytes([1, 0]) if spec.offer_compression else bytes([0])
    body = (
        u16(legacy_version) + random + vec8(session_id) + vec16(_u16s(suites)) + vec8(compression)
    )
    if not ssl3:
        exts = _extensions(spec)
        last = _ext(EXT_PRE_SHARED_KEY, spec.pre_shared_key) if spec.pre_shared_key else b""
        length = 4 + len(body) + 2 + sum(len(e) for e in exts) + len(last)
        # Some middleboxes (F5, RFC 7685) hang on hellos of 256-511 bytes: pad past them.
        if 256 <= length < 512:
            exts.append(_ext(EXT_PADDING, bytes(max(0, 512 - length - 4))))
        body += vec16(b"".join(exts) + last)
    return u8(1) + u24(len(body)) + body


def records(content_type: int, version: int, payload: bytes) -> bytes:
    """``payload`` split into TLS records of at most 2^14 bytes."""
    out = bytearray()
    for start in range(0, max(len(payload), 1), MAX_RECORD):
        chunk = payload[start : start + MAX_RECORD]
        out += u8(content_type) + u16(version) + vec16(chunk)
    return bytes(out)


def record_version(version: int) -> int:
    """The record-layer version of a first flight: 3.0 for SSLv3, else 3.1 (what browsers send)."""
    return Version.SSL3 if version <= Version.SSL3 else Version.TLS10


def client_hello_records(spec: HelloSpec) -> bytes:
    return records(HANDSHAKE, record_version(spec.version), client_hello(spec))


def sslv2_client_hello(
    ciphers: tuple[int, ...], *, version: int = Version.SSL2, tls_suites: tuple[int, ...] = ()
) -> bytes:
    """An SSL 2.0 CLIENT-HELLO record; with ``version`` >= 3.0 it is the SSLv2-compatible hello.

    ``tls_suites`` adds TLS suites as three-byte kinds (00 xx yy), as SSLv2-compatible hellos do.
    """
    specs = b"".join(c.to_bytes(3, "big") for c in ciphers)
    specs += b"".join(u8(0) + u16(s) for s in tls_suites)
    challenge = os.urandom(16)
    msg = u8(1) + u16(version) + u16(len(specs)) + u16(0) + u16(len(challenge)) + specs + challenge
    return u16(0x8000 | len(msg)) + msg
