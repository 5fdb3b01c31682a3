"""Raw TCP servers on loopback that misbehave on purpose (hostile-server tests).

Each server runs its handler in a thread per connection; every loop is bounded by a stop event and
a byte budget so a test can never hang or exhaust memory because of the lab itself.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

from ._loopback import LoopbackServer

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer(LoopbackServer):
    """Run ``handler(conn, stop)`` for every connection, on 127.0.0.1, until closed."""

    scheme = "http"

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(5)
            self._handler(conn, self.stopping)


def read_request(conn: socket.socket, limit: int = 65536) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request, then say nothing until the lab stops."""
    read_request(conn)
    stop.wait(30)


def slow_drip(conn: socket.socket, stop: threading.Event) -> None:
    """A valid response whose body arrives one byte every 0.2 s, forever."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n")
    for _ in range(1000):
        if stop.wait(0.2):
            return
        conn.sendall(b"x")


def endless_body(conn: socket.socket, stop: threading.Event) -> None:
    """A chunked body that never ends (bounded at 64 MiB by the lab)."""
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b"A" * 65536)
    for _ in range(1024):
        if stop.is_set():
            return
        conn.sendall(chunk)


def endless_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A status line followed by header lines that never end (bounded at 64 MiB)."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Endless: " + b"h" * 100 + b"\r\n"
    for _ in range(600_000):
        if stop.is_set():
            return
        conn.sendall(line)


def random_bytes(conn: socket.socket, stop: threading.Event) -> None:
    """Garbage instead of HTTP."""
    read_request(conn)
    conn.sendall(os.urandom(4096))


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Abort the connection with a TCP RST as soon as the request arrives."""
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port with nothing listening (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    time.sleep(0.01)
    yield port
