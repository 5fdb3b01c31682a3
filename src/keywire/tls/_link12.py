"""Records over one TLS 1.0-1.2 connection, for the handshakes keywire carries on past the
first flight: protection each way (null until a ChangeCipherSpec), handshake reassembly, and
what the server said, one event at a time. Records queued with :meth:`Link.send` go out in one
write before the next read.
"""

from __future__ import annotations

from .._dataclass import dataclass
from ._constants import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    HEARTBEAT,
    HS_HELLO_REQUEST,
    Version,
    alert_label,
)
from ._record12 import Protection
from ._wire import DecodeError, u8, u16, vec16
from .connection import Channel
from .records import Handshake, HandshakeAssembler, Record, RecordStream, parse_alert

ALERT_NO_RENEGOTIATION = 100
ALERT_CLOSE_NOTIFY = 0


class Refused(Exception):
    """The server declined: an alert, or it closed the connection."""

    def __init__(self, reason: str, *, alert: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alert = alert


class Unsupported(Exception):
    """The server chose something keywire cannot complete a handshake with."""


@dataclass
class _Event:
    """One thing the peer sent on an established TLS 1.2 link."""

    kind: str  # "handshake", "ccs", "alert", "data", "heartbeat"
    message: Handshake | None = None
    alert: int = 0
    level: int = 0
    payload: bytes = b""


class Link:
    """Records over one channel: current protection each way, reassembly, one record at a time."""

    def __init__(
        self, channel: Channel, version: int = Version.TLS10, *, heartbeat: bool = False
    ) -> None:
        self.channel = channel
        self.version = version
        self.stream = RecordStream(heartbeat=heartbeat)
        self.assembler = HandshakeAssembler()
        self.read = Protection()
        self.write = Protection()
        self.pending_read: Protection | None = None
        self._records: list[Record] = []
        self._events: list[_Event] = []
        self._outgoing = bytearray()

    def send(self, content_type: int, payload: bytes) -> None:
        """Queue a record; everything queued goes out in one write before the next read."""
        for start in range(0, max(len(payload), 1), 16384):
            chunk = payload[start : start + 16384]
            if not self.write.active:
                # Before the first ChangeCipherSpec the version stays the one of the hello.
                self._outgoing += u8(content_type) + u16(self.version) + vec16(chunk)
            else:
                self._outgoing += self.write.seal(content_type, chunk)

    def flush(self) -> None:
        if self._outgoing:
            self.channel.send(bytes(self._outgoing))
            self._outgoing.clear()

    async def event(self) -> _Event:
        self.flush()
        while not self._events:
            if not self._records:
                data = await self.channel.recv()
                if not data:
                    raise Refused("the server closed the connection")
                self.stream.feed(data)
                self._records.extend(r for r in self.stream.records() if isinstance(r, Record))
                continue
            self._record(self._records.pop(0))
        return self._events.pop(0)

    def _record(self, record: Record) -> None:
        payload = self.read.open(record.content_type, record.payload)
        if record.content_type == CHANGE_CIPHER_SPEC:
            if payload != b"\x01":
                raise DecodeError("malformed ChangeCipherSpec")
            if self.pending_read is None:
                raise DecodeError("ChangeCipherSpec before the keys were agreed")
            self.read, self.pending_read = self.pending_read, None
            self._events.append(_Event("ccs"))
        elif record.content_type == ALERT:
            alert = parse_alert(payload)
            self._events.append(_Event("alert", alert=alert.description, level=alert.level))
        elif record.content_type == HANDSHAKE:
            for message in self.assembler.feed(payload):
                self._events.append(_Event("handshake", message=message))
        elif record.content_type == APPLICATION_DATA:
            self._events.append(_Event("data"))
        elif record.content_type == HEARTBEAT:
            self._events.append(_Event("heartbeat", payload=payload))
        else:
            raise DecodeError(f"unexpected record type {record.content_type}")

    async def message(self, *, during: str) -> Handshake:
        """The next handshake message; alerts and closes become :class:`Refused`."""
        while True:
            event = await self.event()
            if event.kind == "handshake" and event.message is not None:
                if event.message.msg_type == HS_HELLO_REQUEST:
                    continue
                return event.message
            if event.kind == "alert":
                if event.level == 1 and event.alert not in (
                    ALERT_NO_RENEGOTIATION,
                    ALERT_CLOSE_NOTIFY,
                ):
                    continue  # other warnings do not end a handshake
                raise Refused(
                    f"alert {alert_label(event.alert)} {during}",
                    alert=event.alert,
                )
            if event.kind == "ccs":
                raise DecodeError(f"unexpected ChangeCipherSpec {during}")
