"""The accept loop the lab's socket servers share: loopback only, one short-lived thread per
connection, every thread stopped and joined on close."""

from __future__ import annotations

import socket
import threading
import time

from keywire.lab.server import LOOPBACK, LoopbackServerBase


class LoopbackServer(LoopbackServerBase):
    """Accept connections on ``host`` (loopback only; port chosen by the OS) until closed.

    Subclasses implement :meth:`handle`, which runs in its own thread for each connection and
    should return quickly once :attr:`stopping` is set. The URL is ``https://localhost:PORT/``
    (what the lab's certificates name) unless a subclass says otherwise.
    """

    scheme = "https"

    def __init__(self, *, host: str = LOOPBACK, port: int = 0) -> None:
        super().__init__(host=host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        #: Connections accepted so far.
        self.connections = 0
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = "localhost" if self.host == LOOPBACK else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port}/"

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self.handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        self.stopping.set()
        self._sock.close()
        self._thread.join(timeout=5)
        deadline = time.monotonic() + 2  # handlers see `stopping`; a stuck one is a daemon
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
