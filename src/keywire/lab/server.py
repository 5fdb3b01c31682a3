"""Servers on loopback: the base every lab server shares, and a WSGI app served in a thread.

:class:`LoopbackServerBase` is the one base class of the lab's servers, here and in the
repository's ``labs/`` (TLS servers, raw sockets, gnutls-serv): each listens on a loopback
address only, on a port the OS chose, has a ``url``, and stops on :meth:`close` or at the end of
a ``with`` block.
"""

from __future__ import annotations

import logging
import ssl
import threading
from types import TracebackType
from typing import Any, TypeVar

LOOPBACK = "127.0.0.1"

_S = TypeVar("_S", bound="LoopbackServerBase")


def is_loopback(host: str) -> bool:
    """Whether a lab server may listen on ``host``: 127.0.0.0/8, ::1 or localhost."""
    return host.startswith("127.") or host in ("::1", "localhost")


class LoopbackServerBase:
    """A server listening on ``host`` (loopback only) until closed.

    Subclasses start listening in ``__init__`` (after calling this one), set :attr:`port`, and
    implement :meth:`close`.
    """

    scheme = "http"

    def __init__(self, *, host: str = LOOPBACK) -> None:
        if not is_loopback(host):
            raise ValueError("lab servers listen on loopback only")
        self.host = host
        self.port = 0

    @property
    def url(self) -> str:
        """``scheme://host:port``, without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LabServer(LoopbackServerBase):
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

        super().__init__(host=host)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self.port = self._server.server_port
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
