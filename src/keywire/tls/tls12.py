"""TLS 1.0-1.2 handshakes carried to the end: what renegotiation and resumption probes need.

The enumeration never completes a handshake. Two questions need one: does the server honour a
renegotiation the client starts (it can only be asked inside an established session), and does
it resume a session by ID or ticket (only a completed handshake creates one). keywire runs the
key exchange itself (ECDHE with X25519, X448 and the NIST curves, finite-field DHE, RSA), derives
the keys with the TLS PRF and protects records with :mod:`._record12`. Nothing is verified (the
server's signature and certificate are irrelevant: no application data is ever sent on these
sessions) and nothing learnt here is kept beyond the facts the probes report.

Every failure is an exception with a reason: :class:`Refused` when the server said no (an alert,
a closed connection), :class:`~keywire.tls._wire.DecodeError` for anything malformed,
:class:`Unsupported` when the server chose something keywire cannot complete.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence

from .._dataclass import dataclass
from ._constants import (
    CHANGE_CIPHER_SPEC,
    EXT_EXTENDED_MASTER_SECRET,
    HANDSHAKE,
    HS_CERTIFICATE,
    HS_CERTIFICATE_REQUEST,
    HS_CERTIFICATE_STATUS,
    HS_CLIENT_KEY_EXCHANGE,
    HS_FINISHED,
    HS_NEW_SESSION_TICKET,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    Version,
    alert_label,
)
from ._link12 import ALERT_CLOSE_NOTIFY, ALERT_NO_RENEGOTIATION, Link, Refused, Unsupported
from ._record12 import Protection, SuiteParams, handshake_hash, key_block, prf, supported
from ._wire import DecodeError, Reader, u8, u16, u24, vec8, vec16
from .hello import LEGACY_GROUPS, HelloSpec, client_hello, record_version
from .messages import (
    KeyExchange,
    parse_certificate,
    parse_server_hello,
    parse_server_key_exchange,
)
from .suites import by_code
from .tls13 import KEY_SHARE_GROUPS, KeyShare

FULL_HANDSHAKE_GROUPS = KEY_SHARE_GROUPS + tuple(
    g for g in LEGACY_GROUPS if g not in KEY_SHARE_GROUPS
)

__all__ = [
    "ALERT_CLOSE_NOTIFY",
    "ALERT_NO_RENEGOTIATION",
    "FULL_HANDSHAKE_GROUPS",
    "Established",
    "Link",
    "Refused",
    "Unsupported",
    "client_suites",
    "full_hello_spec",
    "handshake",
    "parse_ticket12",
]


@dataclass(frozen=True, kw_only=True)
class Established:
    """A completed handshake: what the probes look at, and what a renegotiation needs."""

    version: int
    suite: int
    session_id: bytes
    ticket: bytes = b""
    ticket_lifetime: int | None = None
    secure_renegotiation: bool = False
    client_verify: bytes = b""
    server_verify: bytes = b""
    key_exchange: KeyExchange | None = None
    certificates: tuple[bytes, ...] = ()


def client_suites(accepted: Sequence[int]) -> tuple[int, ...]:
    """Of ``accepted`` (the server's suites), those keywire can complete, in that order."""
    table = supported()
    return tuple(code for code in accepted if code in table)


def full_hello_spec(
    version: int,
    suites: Sequence[int],
    server_name: str | None,
    *,
    session_ticket: bytes | None = b"",
    session_id: bytes = b"",
    renegotiation_info: bytes = b"",
) -> HelloSpec:
    return HelloSpec(
        version=version,
        suites=tuple(suites),
        server_name=server_name,
        # Curves keywire computes first; the others too, so that a server with only those
        # says which it picks (keywire's limit) instead of refusing the hello.
        groups=FULL_HANDSHAKE_GROUPS,
        alpn=("http/1.1",),
        status_request=False,
        session_ticket=session_ticket,
        session_id=session_id,
        renegotiation_info=renegotiation_info,
        random=os.urandom(32),
    )


def _pre_master(
    params: SuiteParams, version: int, kex: KeyExchange | None, certificate: bytes
) -> tuple[bytes, bytes]:
    """(pre-master secret, ClientKeyExchange body) for the suite's key exchange."""
    if params.kex == "ECDHE":
        if kex is None or kex.group is None or not kex.public:
            raise DecodeError("ECDHE suite without an ECDHE ServerKeyExchange")
        if kex.group not in KEY_SHARE_GROUPS:
            raise Unsupported(f"the server chose curve {kex.group}, which keywire cannot compute")
        share = KeyShare(kex.group)
        return share.shared(kex.public), vec8(share.public)
    if params.kex == "DHE":
        if kex is None or not kex.dh_prime:
            raise DecodeError("DHE suite without DH parameters")
        p = int.from_bytes(kex.dh_prime, "big")
        g = int.from_bytes(kex.dh_generator, "big")
        ys = int.from_bytes(kex.public, "big")
        if p < 7 or not 1 < ys < p - 1:
            raise DecodeError("the server's DH parameters are unusable")
        # A 384-bit exponent (twice the strength of the largest group in use): a full-size one
        # would cost two 2048-bit exponentiations in Python for nothing.
        x = secrets.randbits(384) | (1 << 383)
        yc = pow(g, x, p)
        z = pow(ys, x, p)
        size = (p.bit_length() + 7) // 8
        return z.to_bytes(size, "big").lstrip(b"\0"), vec16(yc.to_bytes(size, "big"))
    # RSA key transport: the pre-master secret carries the version the client offered.
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if not certificate:
        raise DecodeError("RSA key exchange without a certificate")
    try:
        key = x509.load_der_x509_certificate(certificate).public_key()
    except ValueError as exc:
        raise DecodeError(f"the server's certificate cannot be read: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise DecodeError("RSA key exchange with a certificate that has no RSA key")
    secret = u16(version) + os.urandom(46)
    sealed = key.encrypt(secret, padding.PKCS1v15())
    return secret, sealed if version == Version.SSL3 else vec16(sealed)


async def handshake(
    link: Link,
    spec: HelloSpec,
    *,
    previous: Established | None = None,
) -> Established:
    """Run a full handshake offering ``spec`` on ``link`` (inside ``previous`` to renegotiate)."""
    table = supported()
    hello = client_hello(spec)
    transcript = [hello]
    if previous is None:
        link.channel.send(u8(HANDSHAKE) + u16(record_version(spec.version)) + vec16(hello))
    else:
        link.send(HANDSHAKE, hello)
    during = "in answer to the ClientHello"
    message = await link.message(during=during)
    if message.msg_type != HS_SERVER_HELLO:
        raise DecodeError(f"expected a ServerHello, got handshake message {message.msg_type}")
    server_hello = parse_server_hello(message.body)
    transcript.append(message.raw)
    version = server_hello.version
    if version > spec.version or version < Version.TLS10 or version >= Version.TLS13:
        raise Unsupported(f"the server answered with version 0x{version:04x}")
    params = table.get(server_hello.cipher_suite)
    if params is None or server_hello.cipher_suite not in spec.suites:
        raise Unsupported(f"the server chose suite 0x{server_hello.cipher_suite:04x}")
    if params.tls12_only and version < Version.TLS12:
        raise DecodeError("the server chose a TLS 1.2 suite with an older version")
    if server_hello.compression != 0:
        raise Unsupported("the server chose TLS compression")
    link.version = version
    during = "during the handshake"
    certificates: tuple[bytes, ...] = ()
    kex: KeyExchange | None = None
    certificate_requested = False
    while True:
        message = await link.message(during=during)
        transcript.append(message.raw)
        kind = message.msg_type
        if kind == HS_CERTIFICATE:
            certificates = parse_certificate(message.body, tls13=False).certificates
        elif kind == HS_SERVER_KEY_EXCHANGE:
            kex = parse_server_key_exchange(message.body, by_code(params.code))
        elif kind == HS_CERTIFICATE_REQUEST:
            certificate_requested = True
        elif kind == HS_CERTIFICATE_STATUS:
            pass
        elif kind == HS_SERVER_HELLO_DONE:
            break
        else:
            raise DecodeError(f"unexpected handshake message {kind} in the server's flight")
    secret, exchange_body = _pre_master(
        params, spec.version, kex, certificates[0] if certificates else b""
    )
    outgoing: list[bytes] = []
    if certificate_requested:
        outgoing.append(u8(HS_CERTIFICATE) + vec24_empty())
    outgoing.append(u8(HS_CLIENT_KEY_EXCHANGE) + u24(len(exchange_body)) + exchange_body)
    transcript.extend(outgoing)
    client_random = spec.random
    server_random = server_hello.random
    if EXT_EXTENDED_MASTER_SECRET in server_hello.extension_types:
        session_hash = handshake_hash(version, params.prf_hash, b"".join(transcript))
        master = prf(version, params.prf_hash, secret, b"extended master secret", session_hash, 48)
    else:
        master = prf(
            version, params.prf_hash, secret, b"master secret", client_random + server_random, 48
        )
    keys = key_block(params, version, master, client_random, server_random)
    for data in outgoing:
        link.send(HANDSHAKE, data)
    link.send(CHANGE_CIPHER_SPEC, b"\x01")
    link.write = Protection(
        params, version, key=keys.client_key, iv=keys.client_iv, mac_key=keys.client_mac
    )
    link.pending_read = Protection(
        params,
        version,
        key=keys.server_key,
        iv=keys.server_iv,
        mac_key=keys.server_mac,
        encrypt=False,
    )
    client_verify = prf(
        version,
        params.prf_hash,
        master,
        b"client finished",
        handshake_hash(version, params.prf_hash, b"".join(transcript)),
        12,
    )
    finished = u8(HS_FINISHED) + u24(12) + client_verify
    transcript.append(finished)
    link.send(HANDSHAKE, finished)

    async def final_flight() -> Established:
        ticket = b""
        lifetime: int | None = None
        during = "after the client's Finished"
        while True:
            event = await link.event()
            if event.kind == "ccs":
                break
            if event.kind == "alert":
                if event.level == 1 and event.alert != ALERT_CLOSE_NOTIFY:
                    continue
                raise Refused(f"alert {alert_label(event.alert)} {during}", alert=event.alert)
            if event.kind == "handshake" and event.message is not None:
                if event.message.msg_type != HS_NEW_SESSION_TICKET:
                    raise DecodeError(f"unexpected handshake message {event.message.msg_type}")
                transcript.append(event.message.raw)
                lifetime, ticket = parse_ticket12(event.message.body)
        expected = prf(
            version,
            params.prf_hash,
            master,
            b"server finished",
            handshake_hash(version, params.prf_hash, b"".join(transcript)),
            12,
        )
        message = await link.message(during=during)
        if message.msg_type != HS_FINISHED or message.body != expected:
            raise DecodeError("the server's Finished did not verify")
        return Established(
            version=version,
            suite=params.code,
            session_id=server_hello.session_id,
            ticket=ticket,
            ticket_lifetime=lifetime,
            secure_renegotiation=server_hello.secure_renegotiation,
            client_verify=client_verify,
            server_verify=message.body,
            key_exchange=kex,
            certificates=certificates,
        )

    try:
        return await final_flight()
    except (Refused, OSError) as exc:
        if certificate_requested:
            # The server asked for a client certificate, got none, and stopped: keywire's
            # limit (it has no certificate to show), not something the server does wrong.
            raise Unsupported("the server requires a client certificate") from exc
        raise


def vec24_empty() -> bytes:
    """An empty Certificate message body (no client certificate)."""
    return u24(3) + u24(0)


def parse_ticket12(body: bytes) -> tuple[int, bytes]:
    """(lifetime hint in seconds, ticket) of a TLS 1.2 NewSessionTicket (RFC 5077 §3.3)."""
    reader = Reader(body, "NewSessionTicket")
    lifetime = reader.uint(4)
    ticket = reader.vec16()
    reader.done()
    return lifetime, ticket
