"""TLS 1.3 key schedule (RFC 8446 §7.1) and record protection for the handshakes keywire
completes: secrets derived from the transcript, one direction's AEAD with its sequence number,
and the records in and out of one connection (queued writes go out before the next read).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ._constants import ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, Version, alert_label
from ._wire import DecodeError, u8, u16, vec16
from .connection import Channel
from .records import Handshake, HandshakeAssembler, Record, RecordStream, parse_alert
from .tls13 import _SUITES, hkdf_expand_label, hkdf_extract


class Closed(Exception):
    """The server ended the exchange (an alert or a closed connection) before the answer."""


def _hash(suite: int) -> str:
    return _SUITES[suite][0]


def _derive(suite: int, secret: bytes, label: bytes, transcript: bytes) -> bytes:
    name = _hash(suite)
    size = hashlib.new(name).digest_size
    return hkdf_expand_label(name, secret, label, hashlib.new(name, transcript).digest(), size)


def _early_secret(suite: int, psk: bytes | None) -> bytes:
    name = _hash(suite)
    size = hashlib.new(name).digest_size
    return hkdf_extract(name, bytes(size), psk or bytes(size))


def _next_secret(suite: int, previous: bytes, ikm: bytes | None) -> bytes:
    name = _hash(suite)
    size = hashlib.new(name).digest_size
    derived = _derive(suite, previous, b"derived", b"")
    return hkdf_extract(name, derived, ikm or bytes(size))


def _finished(suite: int, base: bytes, transcript: bytes) -> bytes:
    name = _hash(suite)
    size = hashlib.new(name).digest_size
    key = hkdf_expand_label(name, base, b"finished", b"", size)
    return hmac.new(key, hashlib.new(name, transcript).digest(), name).digest()


class _Cipher:
    """One direction of TLS 1.3 record protection (seal or open), with its sequence number."""

    def __init__(self, suite: int, secret: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

        name, key_len, kind = _SUITES[suite]
        key = hkdf_expand_label(name, secret, b"key", b"", key_len)
        self._iv = hkdf_expand_label(name, secret, b"iv", b"", 12)
        self._aead: Any
        if kind == "gcm":
            self._aead = AESGCM(key)
        elif kind == "chacha":
            self._aead = ChaCha20Poly1305(key)
        else:
            self._aead = AESCCM(key, tag_length=8 if kind == "ccm8" else 16)
        self._tag = 8 if kind == "ccm8" else 16
        self._seq = 0

    def _nonce(self) -> bytes:
        seq = self._seq.to_bytes(12, "big")
        self._seq += 1
        return bytes(a ^ b for a, b in zip(self._iv, seq, strict=True))

    def seal(self, content_type: int, payload: bytes) -> bytes:
        inner = payload + u8(content_type)
        header = u8(APPLICATION_DATA) + u16(Version.TLS12) + u16(len(inner) + self._tag)
        sealed: bytes = self._aead.encrypt(self._nonce(), inner, header)
        return header + sealed

    def open(self, record: Record) -> tuple[int, bytes]:
        from cryptography.exceptions import InvalidTag

        try:
            plain: bytes = self._aead.decrypt(self._nonce(), record.payload, record.header)
        except InvalidTag:
            raise DecodeError("a TLS 1.3 record did not decrypt (bad tag)") from None
        inner = plain.rstrip(b"\0")
        if not inner:
            raise DecodeError("a TLS 1.3 record without a content type")
        return inner[-1], inner[:-1]


class _Link:
    """Records in and out of one TLS 1.3 channel."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.stream = RecordStream()
        self.assembler = HandshakeAssembler()
        self.read: _Cipher | None = None
        self.write: _Cipher | None = None
        self._records: list[Record] = []
        self._queue: list[Handshake] = []
        self._outgoing = bytearray()

    def pending(self, data: bytes) -> None:
        """Bytes another reader took off the wire already: they come first."""
        self.stream.feed(data)
        self._records.extend(r for r in self.stream.records() if isinstance(r, Record))

    def send_plain(self, message: bytes, version: int = Version.TLS10) -> None:
        self._outgoing += u8(HANDSHAKE) + u16(version) + vec16(message)

    def send(self, content_type: int, payload: bytes) -> None:
        """Queue a record; everything queued goes out in one write before the next read."""
        assert self.write is not None
        self._outgoing += self.write.seal(content_type, payload)

    async def message(self) -> Handshake:
        """The next handshake message; raises :class:`Closed` on an alert or end of stream."""
        if self._outgoing:
            self.channel.send(bytes(self._outgoing))
            self._outgoing.clear()
        while not self._queue:
            if not self._records:
                data = await self.channel.recv()
                if not data:
                    raise Closed("the server closed the connection")
                self.stream.feed(data)
                self._records.extend(r for r in self.stream.records() if isinstance(r, Record))
                continue
            record = self._records.pop(0)
            content, payload = record.content_type, record.payload
            if content == CHANGE_CIPHER_SPEC:
                continue  # middlebox compatibility (RFC 8446 §D.4)
            if content == APPLICATION_DATA:
                if self.read is None:
                    raise DecodeError("encrypted data before the ServerHello")
                content, payload = self.read.open(record)
            if content == ALERT:
                alert = parse_alert(payload)
                raise Closed(f"alert {alert_label(alert.description)}")
            if content == HANDSHAKE:
                self._queue.extend(self.assembler.feed(payload))
            elif content != APPLICATION_DATA:
                raise DecodeError(f"unexpected record type {content}")
        return self._queue.pop(0)
