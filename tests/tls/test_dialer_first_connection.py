"""The dialer's first connection decides for the attempts that start while it connects: an
endpoint with nothing listening costs one connection attempt, not one per probe started at once
(a cleartext API's port 443, scanned for TLS, is the common case)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator

from keywire.tls.connection import ConnectFailed, Dialer, Endpoint
from keywire.tls.scan import scan_endpoint


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _endpoint(port: int) -> Endpoint:
    return Endpoint(host="127.0.0.1", address="127.0.0.1", port=port)


def test_a_refusing_endpoint_is_dialed_once_for_a_whole_scan() -> None:
    dialer = Dialer(timeout=5)
    result = asyncio.run(scan_endpoint(dialer, _endpoint(_closed_port())))
    assert dialer.connections == 1
    assert not result.reachable
    assert result.error == "connection refused"
    assert all(p.offered is None and p.reason == "connection refused" for p in result.protocols)


def test_attempts_wait_for_the_first_then_connect_side_by_side() -> None:
    """With a server listening, the later attempts connect once the first has: every one gets
    its own connection."""

    async def run() -> tuple[int, int]:
        accepted = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal accepted
            accepted += 1
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dialer = Dialer(timeout=5)

        async def one() -> None:
            async with dialer.channel(_endpoint(port)):
                await asyncio.sleep(0.01)

        async with server:
            await asyncio.gather(*(one() for _ in range(6)))
            await asyncio.sleep(0.05)
        return dialer.connected, accepted

    connected, accepted = asyncio.run(run())
    assert connected == 6
    assert accepted == 6


def test_a_first_attempt_cancelled_before_it_connected_does_not_hold_the_others() -> None:
    async def run() -> int:
        gate = asyncio.Event()

        @contextlib.asynccontextmanager
        async def slow_first_slot(host: str) -> AsyncIterator[None]:
            if not gate.is_set():
                gate.set()
                await asyncio.sleep(30)  # the first attempt never gets its slot: it is cancelled
            yield

        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dialer = Dialer(timeout=5, slot=slow_first_slot)

        async def one() -> None:
            async with dialer.channel(_endpoint(port)):
                pass

        async with server:
            first = asyncio.ensure_future(one())
            await gate.wait()
            others = asyncio.ensure_future(asyncio.gather(one(), one()))
            await asyncio.sleep(0.05)
            first.cancel()
            await asyncio.wait_for(others, 5)
        return dialer.connected

    assert asyncio.run(run()) == 2


def test_after_a_refusal_every_attempt_fails_at_once() -> None:
    async def run() -> list[str]:
        dialer = Dialer(timeout=5)

        async def one() -> str:
            try:
                async with dialer.channel(_endpoint(_closed_port())):
                    return "connected"
            except ConnectFailed as exc:
                return str(exc)

        return list(await asyncio.gather(*(one() for _ in range(4))))

    assert asyncio.run(run()) == ["connection refused"] * 4


def test_no_hello_is_built_for_an_endpoint_that_refused(monkeypatch) -> None:
    """The enumeration's attempts wait for the first connection; once it is refused, they
    answer as the exchange would (failed: connection refused) without building a hello."""
    import keywire.tls._enumerate as enumerate_module

    built: list[int] = []
    real = enumerate_module.client_hello

    def counting(spec: object) -> bytes:
        built.append(1)
        return real(spec)  # type: ignore[arg-type]

    monkeypatch.setattr(enumerate_module, "client_hello", counting)
    dialer = Dialer(timeout=5)
    result = asyncio.run(scan_endpoint(dialer, _endpoint(_closed_port())))
    assert result.error == "connection refused"
    assert len(built) <= 1  # at most the first attempt's (another probe may connect first)


def test_an_unreachable_endpoint_gets_what_the_probes_gave_the_last_one(monkeypatch) -> None:
    """The result of a scan of an endpoint that takes no connection is the same for every such
    endpoint with the same failure, but for the endpoint's own fields: the second scan reuses
    the first's, and it equals what running every probe against it gives."""
    import keywire.tls.scan as scan_module

    def scan(endpoint: Endpoint, **options: object) -> object:
        dialer = Dialer(timeout=5)
        result = asyncio.run(scan_endpoint(dialer, endpoint, **options))  # type: ignore[arg-type]
        return dataclasses.replace(result, elapsed_s=0.0)

    monkeypatch.setattr(scan_module, "_UNREACHABLE", {})
    first = _endpoint(_closed_port())
    other = Endpoint(
        host="api.test", address="127.0.0.1", port=_closed_port(), server_name="api.test"
    )
    scan(first)
    assert len(scan_module._UNREACHABLE) == 1
    reused = scan(other)
    scan_module._UNREACHABLE.clear()
    probed = scan(other)
    assert reused == probed
    assert (reused.host, reused.port, reused.server_name) == ("api.test", other.port, "api.test")
    # Other options, another result: not mixed up.
    scan_module._UNREACHABLE.clear()
    without = scan(first, vulnerability_probes=False)
    assert scan(other, vulnerability_probes=False) == dataclasses.replace(
        without, host="api.test", port=other.port, server_name="api.test"
    )
    assert len(scan_module._UNREACHABLE) == 1


def test_a_reachable_endpoint_is_not_taken_for_an_unreachable_one(monkeypatch) -> None:
    import keywire.tls.scan as scan_module

    async def run() -> object:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await scan_endpoint(Dialer(timeout=5), _endpoint(port))

    monkeypatch.setattr(scan_module, "_UNREACHABLE", {})
    asyncio.run(scan_endpoint(Dialer(timeout=5), _endpoint(_closed_port())))
    result = asyncio.run(run())
    assert result.reachable  # type: ignore[attr-defined]
    assert result.error == ""  # type: ignore[attr-defined]
