"""keywire's own HTTP/1.1 client (keywire.net.h1) on raw loopback servers.

What the hostile-server tests do not already cover: requests go out as sent (raw header order,
percent-encoding of what is not visible ASCII), connections are kept alive per origin, a
kept-alive connection the server closed meanwhile is replaced without a failure, and a response
read only up to the cap never goes back to the pool.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from keywire.net.http import ClientSettings, FailureKind, HttpClient, HttpResponse
from labs.raw import RawServer, read_request


def _fetch_all(urls: list[str], **settings: object) -> list[object]:
    async def run() -> list[object]:
        async with HttpClient(ClientSettings(timeout=3, **settings)) as client:  # type: ignore[arg-type]
            return [await client.fetch(url, probe="test") for url in urls]

    return asyncio.run(run())


def _keep_alive(requests: list[bytes]):
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        for _ in range(20):
            request = read_request(conn)
            if not request:
                return
            requests.append(request)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Raw-Case: yes\r\n\r\nok")

    return handler


def test_requests_are_sent_as_keywire_means_them_and_connections_are_reused():
    requests: list[bytes] = []
    with RawServer(_keep_alive(requests)) as server:
        responses = _fetch_all([f"{server.url}/v1/a b?q=é", f"{server.url}/v1/x", server.url])
        connections = server.connections
    assert all(isinstance(r, HttpResponse) and r.status == 200 for r in responses)
    assert responses[0].headers == (("Content-Length", "2"), ("X-Raw-Case", "yes"))  # type: ignore[union-attr]
    assert connections == 1, "three sequential requests to one origin share one connection"
    first = requests[0].split(b"\r\n")
    assert first[0] == b"GET /v1/a%20b?q=%C3%A9 HTTP/1.1"
    assert first[1] == f"Host: 127.0.0.1:{server.port}".encode()
    assert b"Accept-Encoding: identity" in first
    assert requests[2].startswith(b"GET / HTTP/1.1\r\n")


def test_a_kept_alive_connection_the_server_closed_is_replaced():
    """The server answers, then closes without saying so: the next request must still work."""
    served: list[int] = []

    def close_after_one(conn: socket.socket, stop: threading.Event) -> None:
        if read_request(conn):
            served.append(1)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    async def run(url: str) -> list[object]:
        async with HttpClient(ClientSettings(timeout=3)) as client:
            first = await client.fetch(url, probe="test")
            await asyncio.sleep(0.2)  # the server has closed by now
            return [first, await client.fetch(url, probe="test")]

    with RawServer(close_after_one) as server:
        responses = asyncio.run(run(server.url))
    assert [getattr(r, "status", r) for r in responses] == [200, 200]
    assert len(served) == 2


def test_a_response_cut_at_the_cap_closes_its_connection():
    requests: list[bytes] = []

    def big(conn: socket.socket, stop: threading.Event) -> None:
        for _ in range(5):
            request = read_request(conn)
            if not request:
                return
            requests.append(request)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)

    with RawServer(big) as server:
        responses = _fetch_all([server.url, server.url], body_cap=1000)
        connections = server.connections
    assert [(r.body_truncated, len(r.body)) for r in responses] == [(True, 1000)] * 2  # type: ignore[union-attr]
    assert connections == 2


def test_a_server_that_closes_without_answering_is_a_reset():
    def silent(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)

    with RawServer(silent) as server:
        (failure,) = _fetch_all([server.url])
    assert failure.kind is FailureKind.RESET  # type: ignore[attr-defined]
    assert failure.reason == "server closed the connection without a response"  # type: ignore[attr-defined]


def test_informational_answers_are_skipped():
    def early_hints(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"
        )

    with RawServer(early_hints) as server:
        (response,) = _fetch_all([server.url])
    assert response.status == 401  # type: ignore[attr-defined]


def test_a_request_body_and_a_cap_of_its_own():
    """What the certificate probes need (an OCSP request, a CRL larger than an API answer)."""
    received: list[bytes] = []

    def echo_length(conn: socket.socket, stop: threading.Event) -> None:
        request = read_request(conn)
        head, _, body = request.partition(b"\r\n\r\n")
        length = int(
            next(
                v
                for k, v in (h.split(b": ", 1) for h in head.split(b"\r\n")[1:])
                if k == b"Content-Length"
            )
        )
        while len(body) < length:
            body += conn.recv(4096)
        received.append(head.split(b"\r\n")[0] + b" " + body)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + b"c" * 3000)

    async def run(url: str) -> object:
        async with HttpClient(ClientSettings(timeout=3, body_cap=100)) as client:
            return await client.fetch(
                url, probe="test", method="POST", content=b"\x30\x03req", body_cap=5000
            )

    with RawServer(echo_length) as server:
        response = asyncio.run(run(server.url + "/ocsp"))
    assert received == [b"POST /ocsp HTTP/1.1 \x30\x03req"]
    assert isinstance(response, HttpResponse)
    assert len(response.body) == 3000 and not response.body_truncated


def test_a_server_that_answers_twice_gets_a_new_connection_for_the_next_request():
    """A response sent before it was asked for must not become the next request's answer."""

    def answers_twice(conn: socket.socket, stop: threading.Event) -> None:
        for _ in range(3):
            if not read_request(conn):
                return
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 6\r\n\r\nforged"
            )

    with RawServer(answers_twice) as server:
        responses = _fetch_all([server.url, server.url])
        connections = server.connections
    assert [(r.status, r.body) for r in responses] == [(200, b"first")] * 2  # type: ignore[union-attr]
    assert connections == 2


def test_idle_connections_are_capped_in_all_not_only_per_origin():
    """A fleet reaches thousands of origins once each: their idle connections are closed,
    oldest first, past h1.MAX_IDLE."""
    from keywire.net import h1
    from labs.fleet import FleetServer

    with FleetServer(keep_alive=True) as server:
        listeners = [server.listeners[0], *(server.listen() for _ in range(h1.MAX_IDLE + 9))]
        urls = [server.url_of(listener, "/idle") for listener in listeners]

        async def run() -> int:
            async with HttpClient(ClientSettings(timeout=3)) as client:
                for url in urls:
                    fetched = await client.fetch(url, probe="test")
                    assert isinstance(fetched, HttpResponse)
                for _ in range(100):  # the server sees the evicted connections close
                    if server.total_now <= h1.MAX_IDLE:
                        break
                    await asyncio.sleep(0.02)
                return server.total_now

        assert asyncio.run(run()) == h1.MAX_IDLE
        assert server.total_peak == h1.MAX_IDLE + 1
