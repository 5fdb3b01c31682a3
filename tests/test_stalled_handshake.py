"""An HTTPS side that accepts TCP and never completes the TLS handshake is "not tested", never a
refusal (issue 10, item 3).

The servers are raw sockets on loopback: they accept the connection, read the ClientHello and
then stay silent, drip one byte a second, or flood HelloRequest messages. Each loop is bounded in
count and by the lab's stop event.
"""

from __future__ import annotations

import socket
import threading

import pytest

from keywire import OutcomeStatus, ScanOptions, parse_target, scan
from keywire.lab import LabServer
from keywire.net.http import ClientSettings, FailureKind, HttpClient
from labs.apps import Behaviour, make_app
from labs.raw import RawServer

FAST = {"timeout": 1.0, "scan_timeout": 30.0}


def _read_hello(conn: socket.socket) -> None:
    conn.settimeout(5)
    conn.recv(65536)


def stall_silent(conn: socket.socket, stop: threading.Event) -> None:
    _read_hello(conn)
    stop.wait(20)


def stall_drip(conn: socket.socket, stop: threading.Event) -> None:
    """A handshake record header, then its body one byte a second."""
    _read_hello(conn)
    conn.sendall(b"\x16\x03\x03\x00\x60")
    for _ in range(20):
        if stop.wait(1.0):
            return
        conn.sendall(b"\x02")


HELLO_REQUEST = b"\x16\x03\x03\x00\x04\x00\x00\x00\x00"


def stall_hello_requests(conn: socket.socket, stop: threading.Event) -> None:
    """HelloRequest after HelloRequest (clients ignore them during a handshake), bounded."""
    _read_hello(conn)
    for _ in range(2000):
        if stop.wait(0.005):
            return
        conn.sendall(HELLO_REQUEST * 4)


STALLS = [
    pytest.param(stall_silent, id="silent"),
    pytest.param(stall_drip, id="drip"),
    pytest.param(stall_hello_requests, id="hello-request-flood"),
]


async def _fetch(url: str) -> object:
    async with HttpClient(ClientSettings(timeout=1.0)) as client:
        return await client.fetch(url, probe="test")


@pytest.mark.parametrize("handler", STALLS)
def test_a_stalled_handshake_is_a_tls_failure_not_a_refusal(handler):
    import asyncio

    with RawServer(handler) as server:
        failure = asyncio.run(_fetch(f"https://127.0.0.1:{server.port}/"))
    assert failure.kind is FailureKind.TLS, failure  # type: ignore[attr-defined]
    assert not failure.is_refusal  # type: ignore[attr-defined]
    assert "accepted the connection" in failure.reason  # type: ignore[attr-defined]


def _outcomes(report):
    return {o.check: o for o in report.outcomes}


@pytest.mark.parametrize("handler", STALLS)
def test_https_side_that_never_handshakes_makes_the_report_incomplete(handler):
    behaviour = Behaviour()  # the cleartext side refuses with 403, as it should
    with RawServer(handler) as stall, LabServer(make_app(behaviour)) as http:
        target = parse_target(f"https://127.0.0.1:{stall.port}/v1/resource", http_port=http.port)
        report = scan([target], options=ScanOptions(**FAST))
    outcomes = _outcomes(report)
    assert not report.complete
    for family in ("hsts", "mixed_content", "tls"):
        assert outcomes[family].status is OutcomeStatus.ERROR, outcomes[family]
    assert "never completed a TLS handshake" in outcomes["tls"].reason
    assert "TLS handshake did not complete" in outcomes["hsts"].reason
    exchanges = report.targets[0].details["exchanges"]
    https = [e for e in exchanges if str(e["url"]).startswith("https://")]
    assert https and all(e.get("error") == "tls" for e in https), https


def test_stalled_https_counterpart_with_skip_tls_is_still_incomplete():
    """The issue's case: an http:// target whose HTTPS side (named with --https-port) stalls."""
    with RawServer(stall_silent) as stall, LabServer(make_app(Behaviour())) as http:
        target = parse_target(f"{http.url}/v1/resource", https_port=stall.port)
        report = scan([target], options=ScanOptions(skip=("tls",), **FAST))
    outcomes = _outcomes(report)
    assert "tls" not in outcomes
    assert outcomes["hsts"].status is OutcomeStatus.ERROR
    assert outcomes["mixed_content"].status is OutcomeStatus.ERROR
    assert not report.complete


def test_a_closed_https_port_is_still_a_refusal_near_miss():
    """Near-miss: nothing listening on the HTTPS side is "nothing to examine", not an error."""
    from labs.raw import closed_port

    with closed_port() as port, LabServer(make_app(Behaviour())) as http:
        target = parse_target(f"{http.url}/v1/resource", https_port=port)
        report = scan([target], options=ScanOptions(**FAST))
    outcomes = _outcomes(report)
    assert outcomes["hsts"].status is OutcomeStatus.SKIPPED
    assert outcomes["mixed_content"].status is OutcomeStatus.SKIPPED
    assert outcomes["tls"].status is OutcomeStatus.SKIPPED
