"""A fleet on loopback: one asyncio HTTP server with many listeners, counting what it sees.

:class:`FleetServer` answers HTTP/1.1 on as many loopback addresses and ports as a test or a
benchmark asks for (``listen``), from one event loop in one thread, and records what keywire
did: requests by path, connections open at once per listener and in total (the politeness
caps), the TLS server names (SNI) and ``Host`` headers it received. A path can be made slow
(``delay``), can stall (never answer), or can reset its first connections (``flaky``).

Every answer is a small JSON 200 with ``Connection: close`` (``keep_alive``: the connection is
kept for more requests; ``hsts``: HSTS too), so a scan has something real to judge and nothing
to wait for.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable

from keywire.lab.server import LOOPBACK, LoopbackServerBase, is_loopback

#: Bytes of a request head the lab reads at most.
_HEAD_LIMIT = 65536


class FleetServer(LoopbackServerBase):
    """HTTP (or, with ``tls``, HTTPS) on many loopback listeners; see the module docstring.

    ``delay(path)`` is seconds to wait before answering (``None``: never answer, until closed);
    ``flaky`` resets that many first connections of each path before answering normally.
    """

    scheme = "http"

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        tls: ssl.SSLContext | None = None,
        delay: Callable[[str], float | None] | None = None,
        flaky: int = 0,
        hsts: bool = False,
        keep_alive: bool = False,
    ) -> None:
        super().__init__(host=host)
        self.scheme = "https" if tls is not None else "http"
        self._tls = tls
        self._delay = delay
        self._flaky = flaky
        self._hsts = hsts
        self._keep_alive = keep_alive
        self.requests: collections.Counter[str] = collections.Counter()
        self.host_headers: collections.Counter[str] = collections.Counter()
        self.server_names: collections.Counter[str] = collections.Counter()
        self.open_now: collections.Counter[tuple[str, int]] = collections.Counter()
        self.open_peak: collections.Counter[tuple[str, int]] = collections.Counter()
        self.total_now = 0
        self.total_peak = 0
        self.resets: collections.Counter[str] = collections.Counter()
        self.listeners: list[tuple[str, int]] = []
        if tls is not None:
            tls.sni_callback = self._sni
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.port = self.listen(host)[1]

    def _sni(self, _ssl: object, name: str | None, _context: object) -> None:
        if name:
            with self._lock:
                self.server_names[name] += 1

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def url_of(self, listener: tuple[str, int], path: str = "/") -> str:
        host, port = listener
        return f"{self.scheme}://{host}:{port}{path}"

    def listen(self, host: str = LOOPBACK, port: int = 0) -> tuple[str, int]:
        """Listen on ``host:port`` (loopback only; 0: a free port) too; returns where."""
        if not is_loopback(host):
            raise ValueError("lab servers listen on loopback only")
        future = asyncio.run_coroutine_threadsafe(self._start(host, port), self._loop)
        listener = future.result(10)
        self.listeners.append(listener)
        return listener

    async def _start(self, host: str, port: int) -> tuple[str, int]:
        if self._stop is None:
            self._stop = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._handle((host, bound), reader, writer)

        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound = sock.getsockname()[1]
        server = await asyncio.start_server(handle, sock=sock, ssl=self._tls, backlog=1024)
        self._servers.append(server)
        return host, bound

    async def _handle(
        self,
        listener: tuple[str, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        with self._lock:
            self.open_now[listener] += 1
            self.open_peak[listener] = max(self.open_peak[listener], self.open_now[listener])
            self.total_now += 1
            self.total_peak = max(self.total_peak, self.total_now)
        try:
            while await self._answer(reader, writer) and self._keep_alive:
                pass
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            with self._lock:
                self.open_now[listener] -= 1
                self.total_now -= 1
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection may carry another."""
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _HEAD_LIMIT:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = request_line.split(" ")
        path = parts[1] if len(parts) > 1 else "/"
        for header in header_lines:
            name, _, value = header.partition(":")
            if name.strip().lower() == "host":
                self.host_headers[value.strip()] += 1
        base = path.split("?")[0]
        with self._lock:
            self.requests[base] += 1
            flaky = self.resets[base] < self._flaky
            if flaky:
                self.resets[base] += 1
        if flaky:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        wait = self._delay(base) if self._delay is not None else 0.0
        assert self._stop is not None
        if wait is None:
            await self._stop.wait()
            return False
        if wait:
            await asyncio.sleep(wait)
        body = b'{"status": "ok"}'
        extra = b"Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"
        connection = b"keep-alive" if self._keep_alive else b"close"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
            + connection
            + b"\r\n"
            + (extra if self._hsts else b"")
            + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        return True

    def close(self) -> None:
        async def shutdown() -> None:
            if self._stop is not None:
                self._stop.set()
            for server in self._servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
