"""The record layer, read incrementally: bytes in, records and handshake messages out.

A server may split a handshake message over many records (fragmentation) or put many messages
in one record (coalescing); :class:`RecordStream` handles both, bounded: no record over the
RFC 8446 limit, no handshake message over ``max_message`` bytes, nothing but TLS or SSL 2.0
framing accepted.
"""

from __future__ import annotations

from .._dataclass import dataclass
from ._constants import ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, HEARTBEAT
from ._wire import DecodeError

MAX_CIPHERTEXT = 16384 + 2048
# A handshake message may be 16 MiB (RFC 8446); certificate messages of a few hundred KiB exist
# (thousands of subjectAltNames). 1 MiB reads those and still bounds a hostile server.
DEFAULT_MAX_MESSAGE = 1024 * 1024


@dataclass(frozen=True)
class Record:
    """One TLS record as read from the wire."""

    content_type: int
    version: int
    payload: bytes

    @property
    def header(self) -> bytes:
        return (
            bytes([self.content_type])
            + self.version.to_bytes(2, "big")
            + len(self.payload).to_bytes(2, "big")
        )


@dataclass(frozen=True)
class Handshake:
    """One handshake message: its type and body."""

    msg_type: int
    body: bytes

    @property
    def raw(self) -> bytes:
        return bytes([self.msg_type]) + len(self.body).to_bytes(3, "big") + self.body


@dataclass(frozen=True)
class Alert:
    """One alert: its level and description codes."""

    level: int
    description: int

    @property
    def fatal(self) -> bool:
        return self.level != 1


@dataclass(frozen=True)
class Ssl2Message:
    """One SSL 2.0 message (its record header stripped)."""

    body: bytes


def _describe_garbage(data: bytes) -> str:
    if data[:5] in (b"HTTP/", b"<html", b"<!DOC") or data[:4].isalpha():
        return "the server answered in plain text, not TLS"
    return f"not a TLS record (first bytes {data[:5].hex()})"


class RecordStream:
    """Incremental record parser; call :meth:`feed` with bytes, then :meth:`records`."""

    def __init__(self, *, allow_ssl2: bool = False, heartbeat: bool = False) -> None:
        self._buffer = bytearray()
        self._allow_ssl2 = allow_ssl2
        self._first = True
        self._types = (CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA) + (
            (HEARTBEAT,) if heartbeat else ()
        )

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def unread(self) -> bytes:
        """The bytes of a record not yet complete (taken out: another reader goes on)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def records(self) -> list[Record | Ssl2Message]:
        """Every complete record in the buffer; raises DecodeError on bad framing."""
        out: list[Record | Ssl2Message] = []
        buf = self._buffer
        while True:
            if self._first and self._allow_ssl2 and buf and buf[0] & 0x80:
                if len(buf) < 2:
                    break
                length = ((buf[0] & 0x7F) << 8) | buf[1]
                if len(buf) < 2 + length:
                    break
                out.append(Ssl2Message(bytes(buf[2 : 2 + length])))
                del buf[: 2 + length]
                self._first = False
                continue
            if len(buf) < 5:
                if buf and buf[0] not in self._types:
                    raise DecodeError(_describe_garbage(bytes(buf)))
                break
            content_type = buf[0]
            version = int.from_bytes(buf[1:3], "big")
            length = int.from_bytes(buf[3:5], "big")
            if content_type not in self._types:
                raise DecodeError(_describe_garbage(bytes(buf[:8])))
            if buf[1] != 3:
                raise DecodeError(f"record with version {version:#06x}")
            if length > MAX_CIPHERTEXT:
                raise DecodeError(f"record of {length} bytes exceeds the TLS limit")
            if len(buf) < 5 + length:
                break
            out.append(Record(content_type, version, bytes(buf[5 : 5 + length])))
            del buf[: 5 + length]
            self._first = False
        return out


class HandshakeAssembler:
    """Reassembles handshake messages from handshake-record payloads."""

    def __init__(self, *, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max = max_message

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def feed(self, payload: bytes) -> list[Handshake]:
        self._buffer += payload
        out: list[Handshake] = []
        buf = self._buffer
        while len(buf) >= 4:
            length = int.from_bytes(buf[1:4], "big")
            if length > self._max:
                raise DecodeError(f"handshake message of {length} bytes exceeds {self._max}")
            if len(buf) < 4 + length:
                break
            out.append(Handshake(buf[0], bytes(buf[4 : 4 + length])))
            del buf[: 4 + length]
        return out


def parse_alert(payload: bytes) -> Alert:
    """The first alert of an alert record (a record may carry several, never half of one)."""
    if len(payload) < 2 or len(payload) % 2:
        raise DecodeError(f"alert record of {len(payload)} bytes")
    return Alert(payload[0], payload[1])
