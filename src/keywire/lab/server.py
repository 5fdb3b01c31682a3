"""Run a WSGI application on loopback in a background thread, with optional TLS."""

from __future__ import annotations

import logging
import ssl
import threading
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"


class LabServer:
    """A WSGI app served on ``127.0.0.1`` (port chosen by the OS) until closed.

    >>> with LabServer(app) as server:  # doctest: +SKIP
    ...     print(server.url)
    http://127.0.0.1:41235
    """

    def __init__(
        self,
        app: Any,
        *,
        ssl_context: ssl.SSLContext | None = None,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        from werkzeug.serving import make_server

        if host not in (LOOPBACK, "::1", "localhost"):
            raise ValueError("lab servers listen on loopback only")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self.host = host
        self.port: int = self._server.server_port
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LabServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
