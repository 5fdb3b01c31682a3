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

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(5)
            self._handler(conn, self._stop)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._accept.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
