"""A TLS 1.3 handshake far enough to read the server's encrypted flight.

TLS 1.3 encrypts everything after the ServerHello, the certificate included. For servers that
speak nothing older, keywire runs the key exchange itself (X25519, X448 or a NIST curve), derives
the server's handshake traffic key (RFC 8446 §7.1, HKDF-Expand-Label) and decrypts the flight
(AES-GCM, AES-CCM or ChaCha20-Poly1305) to read EncryptedExtensions (ALPN) and the Certificate
(with its stapled OCSP response). It never sends a Finished: nothing is authenticated or used.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from typing import Any

from .._dataclass import dataclass
from ._constants import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    EXT_ALPN,
    HANDSHAKE,
    HS_CERTIFICATE,
    HS_CERTIFICATE_VERIFY,
    HS_ENCRYPTED_EXTENSIONS,
    HS_FINISHED,
    HS_MESSAGE_HASH,
    HS_SERVER_HELLO,
    Group,
    Version,
    alert_label,
    group_label,
)
from ._wire import DecodeError, Reader, u8, u16, u24, vec8
from .connection import ConnectFailed, Dialer, Endpoint
from .hello import HelloSpec, client_hello, records
from .messages import ServerHello, parse_alpn, parse_certificate, parse_server_hello
from .records import Handshake, HandshakeAssembler, Record, RecordStream, parse_alert

#: suite -> (hash name, key length, AEAD kind)
_SUITES: dict[int, tuple[str, int, str]] = {
    0x1301: ("sha256", 16, "gcm"),
    0x1302: ("sha384", 32, "gcm"),
    0x1303: ("sha256", 32, "chacha"),
    0x1304: ("sha256", 16, "ccm"),
    0x1305: ("sha256", 16, "ccm8"),
}
#: Groups keywire can compute a key share for, in the order it offers them.
KEY_SHARE_GROUPS: tuple[int, ...] = (
    Group.X25519,
    Group.SECP256R1,
    Group.X448,
    Group.SECP384R1,
    Group.SECP521R1,
)


class KeyShare:
    """An ephemeral private key for one group, with the public share to send."""

    def __init__(self, group: int) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self.group = group
        self._key: Any
        if group == Group.X25519:
            self._key = x25519.X25519PrivateKey.generate()
            self.public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        elif group == Group.X448:
            self._key = x448.X448PrivateKey.generate()
            self.public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        else:
            curve = {
                Group.SECP256R1: ec.SECP256R1(),
                Group.SECP384R1: ec.SECP384R1(),
                Group.SECP521R1: ec.SECP521R1(),
            }[Group(group)]
            self._key = ec.generate_private_key(curve)
            self.public = self._key.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint
            )

    def shared(self, peer: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

        try:
            if self.group == Group.X25519:
                secret: bytes = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
            elif self.group == Group.X448:
                secret = self._key.exchange(x448.X448PublicKey.from_public_bytes(peer))
            else:
                point = ec.EllipticCurvePublicKey.from_encoded_point(self._key.curve, peer)
                secret = self._key.exchange(ec.ECDH(), point)
        except ValueError as exc:
            raise DecodeError(f"invalid {group_label(self.group)} key share: {exc}") from None
        return secret


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hash_name).digest()


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """RFC 8446 §7.1 HKDF-Expand-Label (HKDF-Expand of RFC 5869, written out)."""
    info = u16(length) + vec8(b"tls13 " + label) + vec8(context)
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


def server_handshake_keys(suite: int, shared: bytes, transcript: bytes) -> tuple[bytes, bytes]:
    """(key, iv) of the server's handshake traffic for ``suite``; ``transcript`` is CH..SH."""
    hash_name, key_len, _ = _SUITES[suite]
    size = hashlib.new(hash_name).digest_size
    zero = bytes(size)
    early = hkdf_extract(hash_name, zero, zero)
    empty_hash = hashlib.new(hash_name, b"").digest()
    derived = hkdf_expand_label(hash_name, early, b"derived", empty_hash, size)
    handshake_secret = hkdf_extract(hash_name, derived, shared)
    digest = hashlib.new(hash_name, transcript).digest()
    traffic = hkdf_expand_label(hash_name, handshake_secret, b"s hs traffic", digest, size)
    return (
        hkdf_expand_label(hash_name, traffic, b"key", b"", key_len),
        hkdf_expand_label(hash_name, traffic, b"iv", b"", 12),
    )


class RecordDecryptor:
    """Decrypts TLS 1.3 records with one traffic key, counting sequence numbers."""

    def __init__(self, suite: int, key: bytes, iv: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

        kind = _SUITES[suite][2]
        self._aead: Any
        if kind == "gcm":
            self._aead = AESGCM(key)
        elif kind == "chacha":
            self._aead = ChaCha20Poly1305(key)
        else:
            self._aead = AESCCM(key, tag_length=8 if kind == "ccm8" else 16)
        self._iv = iv
        self._seq = 0

    def decrypt(self, record: Record) -> tuple[int, bytes]:
        """(inner content type, plaintext) of an encrypted record."""
        from cryptography.exceptions import InvalidTag

        nonce = bytes(a ^ b for a, b in zip(self._iv, self._seq.to_bytes(12, "big"), strict=True))
        self._seq += 1
        try:
            plain: bytes = self._aead.decrypt(nonce, record.payload, record.header)
        except InvalidTag:
            raise DecodeError("a TLS 1.3 record did not decrypt (bad tag)") from None
        inner = plain.rstrip(b"\0")
        if not inner:
            raise DecodeError("a TLS 1.3 record without a content type")
        return inner[-1], inner[:-1]


@dataclass(frozen=True, kw_only=True)
class Tls13Flight:
    """What the server's encrypted TLS 1.3 flight revealed, or why it could not be read."""

    ok: bool
    reason: str = ""
    cipher_suite: int | None = None
    group: int | None = None
    retried: bool = False
    certificates: tuple[bytes, ...] = ()
    ocsp_response: bytes = b""
    alpn: str | None = None


class _Reader:
    """Records and handshake messages from one channel, decrypting once keys are known."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.stream = RecordStream()
        self.plain = HandshakeAssembler()
        self.secret = HandshakeAssembler()
        self.decryptor: RecordDecryptor | None = None
        self.queue: list[Handshake] = []
        self.pending: list[Record] = []

    async def next_message(self) -> Handshake:
        # Records are handled one at a time: encrypted ones may arrive with the ServerHello,
        # before the caller has derived the key to read them.
        while not self.queue:
            if not self.pending:
                data = await self.channel.recv()
                if not data:
                    raise DecodeError("the server closed the connection mid-handshake")
                self.stream.feed(data)
                self.pending.extend(r for r in self.stream.records() if isinstance(r, Record))
                continue
            self._record(self.pending.pop(0))
        return self.queue.pop(0)

    def _record(self, record: Record) -> None:
        content, payload = record.content_type, record.payload
        if content == CHANGE_CIPHER_SPEC:
            return
        if content == APPLICATION_DATA:
            if self.decryptor is None:
                raise DecodeError("encrypted data before the ServerHello")
            content, payload = self.decryptor.decrypt(record)
            if content == HANDSHAKE:
                self.queue.extend(self.secret.feed(payload))
                return
        if content == ALERT:
            alert = parse_alert(payload)
            raise DecodeError(f"the server sent alert {alert_label(alert.description)}")
        if content == HANDSHAKE and self.decryptor is None:
            self.queue.extend(self.plain.feed(payload))
            return
        raise DecodeError(f"unexpected record type {content}")


async def read_encrypted_flight(
    dialer: Dialer, endpoint: Endpoint, *, suites: tuple[int, ...] = tuple(_SUITES)
) -> Tls13Flight:
    """Handshake with TLS 1.3 up to the server's Certificate; see the module docstring."""
    try:
        return await _flight(dialer, endpoint, suites)
    except DecodeError as exc:
        return Tls13Flight(ok=False, reason=str(exc))
    except asyncio.TimeoutError:
        return Tls13Flight(ok=False, reason=f"no complete answer within {dialer.timeout:g}s")
    except ConnectFailed as exc:
        return Tls13Flight(ok=False, reason=str(exc))
    except OSError as exc:
        return Tls13Flight(ok=False, reason=f"connection failed: {exc.strerror or exc}")


async def _flight(dialer: Dialer, endpoint: Endpoint, suites: tuple[int, ...]) -> Tls13Flight:
    shares = {g: KeyShare(g) for g in KEY_SHARE_GROUPS[:2]}
    spec = HelloSpec(
        version=Version.TLS13,
        suites=suites,
        server_name=endpoint.server_name,
        groups=KEY_SHARE_GROUPS,
        key_shares=tuple((g, s.public) for g, s in shares.items()),
        random=os.urandom(32),
        session_id=os.urandom(32),
    )
    first = client_hello(spec)
    async with dialer.channel(endpoint) as channel:
        channel.send(records(HANDSHAKE, Version.TLS10, first))
        reader = _Reader(channel)
        hello, message = await _server_hello(reader)
        transcript = first + message.raw
        retried = False
        if hello.retry_request:
            retried = True
            group = hello.key_share_group
            if group is None or group not in KEY_SHARE_GROUPS or group in shares:
                return Tls13Flight(
                    ok=False,
                    reason=(
                        "the server asked for a key share for "
                        f"{group_label(group) if group is not None else 'no group'}, "
                        "which keywire cannot compute"
                    ),
                )
            if hello.cipher_suite not in _SUITES:
                return _unsupported_suite(hello.cipher_suite)
            hash_name = _SUITES[hello.cipher_suite][0]
            digest = hashlib.new(hash_name, first).digest()
            transcript = u8(HS_MESSAGE_HASH) + u24(len(digest)) + digest + message.raw
            shares = {group: KeyShare(group)}
            second = client_hello(
                HelloSpec(
                    version=Version.TLS13,
                    suites=suites,
                    server_name=endpoint.server_name,
                    groups=KEY_SHARE_GROUPS,
                    key_shares=((group, shares[group].public),),
                    random=spec.random,
                    session_id=spec.session_id,
                    cookie=hello.cookie,
                )
            )
            channel.send(records(HANDSHAKE, Version.TLS12, second))
            transcript += second
            hello, message = await _server_hello(reader)
            if hello.retry_request:
                raise DecodeError("a second HelloRetryRequest")
            transcript += message.raw
        if hello.version != Version.TLS13:
            return Tls13Flight(ok=False, reason="the server did not negotiate TLS 1.3")
        if hello.cipher_suite not in _SUITES:
            return _unsupported_suite(hello.cipher_suite)
        share = shares.get(hello.key_share_group or -1)
        if share is None:
            raise DecodeError("the server's key share is for a group keywire did not offer")
        key, iv = server_handshake_keys(
            hello.cipher_suite, share.shared(hello.key_share), transcript
        )
        reader.decryptor = RecordDecryptor(hello.cipher_suite, key, iv)
        alpn: str | None = None
        for _ in range(8):
            message = await reader.next_message()
            if message.msg_type == HS_ENCRYPTED_EXTENSIONS:
                alpn = _alpn(message.body)
            elif message.msg_type == HS_CERTIFICATE:
                cert = parse_certificate(message.body, tls13=True)
                return Tls13Flight(
                    ok=True,
                    cipher_suite=hello.cipher_suite,
                    group=share.group,
                    retried=retried,
                    certificates=cert.certificates,
                    ocsp_response=cert.ocsp_response,
                    alpn=alpn,
                )
            elif message.msg_type in (HS_CERTIFICATE_VERIFY, HS_FINISHED):
                break
        return Tls13Flight(ok=False, reason="the server's flight had no Certificate message")


def _unsupported_suite(suite: int) -> Tls13Flight:
    return Tls13Flight(
        ok=False, reason=f"the server chose suite 0x{suite:04x}, which keywire cannot decrypt"
    )


async def _server_hello(reader: _Reader) -> tuple[ServerHello, Handshake]:
    message = await reader.next_message()
    if message.msg_type != HS_SERVER_HELLO:
        raise DecodeError(f"expected a ServerHello, got handshake message {message.msg_type}")
    return parse_server_hello(message.body), message


def _alpn(body: bytes) -> str | None:
    reader = Reader(body, "EncryptedExtensions")
    block = Reader(reader.vec16(), "EncryptedExtensions extensions")
    reader.done()
    while block.remaining:
        kind = block.u16()
        data = block.vec16()
        if kind == EXT_ALPN:
            return parse_alpn(data)
    return None
