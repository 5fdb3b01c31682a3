"""Heartbleed (CVE-2014-0160) and OpenSSL CCS injection (CVE-2014-0224), observed not exploited.

Both probes stop a TLS <= 1.2 handshake after the server's first flight (ServerHelloDone) and
send records a correct server must refuse; docs/vulnerability-probes.md explains each byte.

- **Heartbleed**: a heartbeat request whose declared payload length is 3 bytes longer than the
  payload, the 3 bytes being the start of our own 16-byte padding; then a well-formed heartbeat.
  RFC 6520 requires a server to discard a request whose length leaves less than 16 bytes of
  padding; a vulnerable OpenSSL echoes the declared length instead. Because the overrun stays
  inside the record keywire sent, even a vulnerable server echoes only keywire's own bytes: no
  server memory is read. The echo is compared and dropped, never stored or logged.
- **CCS injection**: a ChangeCipherSpec before any key exchange, then two bytes of
  application data. A vulnerable OpenSSL switches to keys derived from an empty master secret
  and answers the data with bad_record_mac; a fixed one refuses the early ChangeCipherSpec
  (unexpected_message).

An answer that decides nothing (a refused hello, a malformed reply) leaves the question open
(``vulnerable=None`` with the reason), never "not vulnerable".
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence

from ._constants import (
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HEARTBEAT,
    HS_CERTIFICATE,
    HS_CERTIFICATE_REQUEST,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    alert_label,
)
from ._wire import DecodeError, u8, u16
from .connection import Channel, ConnectFailed, Dialer, Endpoint
from .hello import HelloSpec, client_hello, record_version
from .messages import ServerHello, parse_certificate, parse_server_hello
from .results import VulnerabilityResult
from .tls12 import Link, Refused

HEARTBLEED = "Heartbleed"
CCS_INJECTION = "CCS injection"
#: Bytes of heartbeat payload: a response of this size is written at once even by an OpenSSL
#: that buffers its handshake output (BIO_f_buffer flushes writes of 4 KiB and more).
HEARTBEAT_PAYLOAD = 16000
HEARTBEAT_OVERRUN = 3
HEARTBEAT_PADDING = 16
WELL_FORMED_PAYLOAD = 6000
ALERT_BAD_RECORD_MAC = 20
ALERT_DECRYPTION_FAILED = 21


class _Flight:
    """What the server sent up to its ServerHelloDone."""

    def __init__(self, hello: ServerHello, certificates: tuple[bytes, ...], client_auth: bool):
        self.hello = hello
        self.certificates = certificates
        self.client_auth = client_auth


async def read_flight(link: Link, spec: HelloSpec) -> _Flight:
    """Send the hello of ``spec`` and read the server's flight (the version is then fixed)."""
    link.channel.send(u8(22) + u16(record_version(spec.version)) + _vec16(client_hello(spec)))
    hello: ServerHello | None = None
    certificates: tuple[bytes, ...] = ()
    client_auth = False
    for _ in range(16):
        message = await link.message(during="in answer to the ClientHello")
        if hello is None:
            if message.msg_type != HS_SERVER_HELLO:
                raise DecodeError(f"handshake message {message.msg_type} before the ServerHello")
            hello = parse_server_hello(message.body)
            link.version = hello.version
            continue
        if message.msg_type == HS_CERTIFICATE:
            certificates = parse_certificate(message.body, tls13=False).certificates
        elif message.msg_type == HS_CERTIFICATE_REQUEST:
            client_auth = True
        elif message.msg_type == HS_SERVER_HELLO_DONE:
            return _Flight(hello, certificates, client_auth)
    raise DecodeError("the server's flight did not end")


def _vec16(data: bytes) -> bytes:
    return u16(len(data)) + data


def legacy_spec(version: int, suites: Sequence[int], server_name: str | None) -> HelloSpec:
    return HelloSpec(
        version=version,
        suites=tuple(suites)[:126],
        server_name=server_name,
        alpn=("http/1.1",),
        status_request=False,
        heartbeat=True,
    )


async def _answers(link: Link, quiet: float) -> list[tuple[str, int, bytes]]:
    """What the server sends back until it closes, fails, or is quiet for ``quiet`` seconds.

    Each item is (kind, alert, heartbeat payload); "closed" ends the list.
    """
    out: list[tuple[str, int, bytes]] = []
    for _ in range(8):
        try:
            event = await asyncio.wait_for(link.event(), quiet)
        except asyncio.TimeoutError:
            out.append(("quiet", 0, b""))
            return out
        except Refused:
            out.append(("closed", 0, b""))
            return out
        except (ConnectionError, OSError):
            out.append(("closed", 0, b""))
            return out
        out.append((event.kind, event.alert, event.payload))
        if event.kind == "alert" and (event.level != 1 or event.alert == 0):
            return out
    return out


def heartbeats() -> tuple[bytes, bytes, int, bytes, bytes]:
    """(over-long request, its payload, its declared length, well-formed request, its payload).

    The over-long request declares 3 bytes more than its payload, and those 3 bytes are the
    start of its own 16 bytes of padding: the record carries everything it claims.
    """
    payload = os.urandom(HEARTBEAT_PAYLOAD)
    declared = HEARTBEAT_PAYLOAD + HEARTBEAT_OVERRUN
    probe = u8(1) + u16(declared) + payload + os.urandom(HEARTBEAT_PADDING)
    control = os.urandom(WELL_FORMED_PAYLOAD)
    well_formed = u8(1) + u16(len(control)) + control + os.urandom(HEARTBEAT_PADDING)
    return probe, payload, declared, well_formed, control


async def heartbleed_after_flight(link: Link, *, quiet: float) -> VulnerabilityResult:
    """The Heartbleed probe on a connection whose server flight has just been read."""
    probe, payload, declared, well_formed, control = heartbeats()
    link.send(HEARTBEAT, probe)
    link.send(HEARTBEAT, well_formed)
    for kind, alert, data in await _answers(link, quiet):
        if kind == "heartbeat":
            if len(data) < 3 or data[0] != 2:
                continue
            length = int.from_bytes(data[1:3], "big")
            # Compare, never keep: only the verdict leaves this function.
            if length == declared and data[3 : 3 + len(payload)] == payload:
                return VulnerabilityResult(
                    name=HEARTBLEED,
                    vulnerable=True,
                    detail=(
                        f"the server answered a heartbeat that claimed {HEARTBEAT_OVERRUN} "
                        "bytes more than it carried, echoing the claimed length"
                    ),
                )
            if length == len(control):
                return VulnerabilityResult(
                    name=HEARTBLEED,
                    vulnerable=False,
                    detail="the server answered the well-formed heartbeat and "
                    "discarded the over-long one",
                )
        elif kind == "alert":
            return VulnerabilityResult(
                name=HEARTBLEED,
                vulnerable=False,
                detail=f"the server refused heartbeats (alert {alert_label(alert)})",
            )
        elif kind == "closed":
            return VulnerabilityResult(
                name=HEARTBLEED,
                vulnerable=False,
                detail="the server closed the connection without answering heartbeats",
            )
        elif kind == "quiet":
            return VulnerabilityResult(
                name=HEARTBLEED,
                vulnerable=False,
                detail=f"the server ignored both heartbeats for {quiet:g}s",
            )
    return VulnerabilityResult(
        name=HEARTBLEED, vulnerable=None, detail="the server's answers decided nothing"
    )


async def ccs_after_flight(link: Link, *, quiet: float) -> VulnerabilityResult:
    """The CCS injection probe on a connection whose server flight has just been read."""
    link.send(CHANGE_CIPHER_SPEC, b"\x01")
    link.send(APPLICATION_DATA, b"\x00\x00")
    for kind, alert, _ in await _answers(link, quiet):
        if kind == "alert":
            if alert in (ALERT_BAD_RECORD_MAC, ALERT_DECRYPTION_FAILED):
                return VulnerabilityResult(
                    name=CCS_INJECTION,
                    vulnerable=True,
                    detail=(
                        "the server accepted a ChangeCipherSpec before the key exchange "
                        f"(it then failed to decrypt: alert {alert_label(alert)})"
                    ),
                )
            return VulnerabilityResult(
                name=CCS_INJECTION,
                vulnerable=False,
                detail=f"the server refused the early ChangeCipherSpec (alert {alert_label(alert)})",
            )
        if kind == "closed":
            return VulnerabilityResult(
                name=CCS_INJECTION,
                vulnerable=False,
                detail="the server closed the connection on the early ChangeCipherSpec",
            )
        if kind == "quiet":
            return VulnerabilityResult(
                name=CCS_INJECTION,
                vulnerable=False,
                detail=f"the server ignored the early ChangeCipherSpec for {quiet:g}s",
            )
    return VulnerabilityResult(
        name=CCS_INJECTION, vulnerable=None, detail="the server's answers decided nothing"
    )


async def heartbleed(
    dialer: Dialer, endpoint: Endpoint, version: int, suites: Sequence[int], *, quiet: float
) -> VulnerabilityResult:
    """The Heartbleed probe on a connection of its own (see the module docstring)."""

    async def run(link: Link) -> VulnerabilityResult:
        await read_flight(link, legacy_spec(version, suites, endpoint.server_name))
        return await heartbleed_after_flight(link, quiet=quiet)

    return await _run(dialer, endpoint, HEARTBLEED, run, heartbeat=True)


async def ccs_injection(
    dialer: Dialer, endpoint: Endpoint, version: int, suites: Sequence[int], *, quiet: float
) -> VulnerabilityResult:
    """The CCS injection probe on a connection of its own (see the module docstring)."""

    async def run(link: Link) -> VulnerabilityResult:
        await read_flight(link, legacy_spec(version, suites, endpoint.server_name))
        return await ccs_after_flight(link, quiet=quiet)

    return await _run(dialer, endpoint, CCS_INJECTION, run)


class Piggyback:
    """A probe that rides on a connection the enumeration opens anyway (one per probe).

    After a TLS 1.2 hello of the enumeration has its complete flight, :meth:`run` sends the
    probe's records on the same connection instead of hanging up: one connection and one
    server flight saved. ``result`` is resolved by the first connection that carries it.
    """

    def __init__(self, name: str, quiet: float, version: int) -> None:
        self.name = name
        self.quiet = quiet
        self.version = version
        self.claimed = False
        self.result: VulnerabilityResult | None = None

    async def run(self, channel: Channel, version: int) -> None:
        if version != self.version:
            return
        link = Link(channel, version, heartbeat=self.name == HEARTBLEED)
        probe = heartbleed_after_flight if self.name == HEARTBLEED else ccs_after_flight
        try:
            self.result = await probe(link, quiet=self.quiet)
        except (Refused, DecodeError, asyncio.TimeoutError, OSError) as exc:
            self.result = VulnerabilityResult(name=self.name, vulnerable=None, detail=str(exc))


async def _run(
    dialer: Dialer,
    endpoint: Endpoint,
    name: str,
    body: Callable[[Link], Awaitable[VulnerabilityResult]],
    *,
    heartbeat: bool = False,
) -> VulnerabilityResult:
    try:
        async with dialer.channel(endpoint) as channel:
            return await body(Link(channel, heartbeat=heartbeat))
    except Refused as exc:
        reason = f"the server refused keywire's hello ({exc.reason})"
    except DecodeError as exc:
        reason = f"malformed answer: {exc}"
    except asyncio.TimeoutError:
        reason = f"no complete answer within {dialer.timeout:g}s"
    except ConnectFailed as exc:
        reason = str(exc)
    except OSError as exc:
        reason = f"the connection failed ({exc.strerror or exc})"
    return VulnerabilityResult(name=name, vulnerable=None, detail=reason)
