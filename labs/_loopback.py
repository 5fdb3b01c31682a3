"""The accept loop the TLS lab's servers share: loopback only, one short-lived thread per
connection, closed on exit."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import TypeVar

_S = TypeVar("_S", bound="LoopbackServer")


class LoopbackServer:
    """Accept connections on ``host`` (loopback only; port chosen by the OS) until closed.

    Subclasses implement :meth:`handle`, which runs in its own thread for each connection and
    should return quickly once :attr:`stopping` is set.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not host.startswith("127.") and host != "::1":
            raise ValueError("lab servers listen on loopback only")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The server as an https:// URL with the name ``localhost`` (what its certificates name)."""
        host = "localhost" if self.host == "127.0.0.1" else self.host
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{self.port}/"

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
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
