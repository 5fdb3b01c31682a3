"""A TLS server on loopback built on Python's ``ssl`` (the system OpenSSL), for the TLS lab.

Each accepted connection gets its own short-lived thread: handshake, answer one HTTP request with
a tiny page, close. Handshake failures are normal here (keywire hangs up after the server's first
flight) and are ignored. See ``/docs`` of the TLS lab notes for what OpenSSL 3 can serve.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"
_PAGE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
_VERSIONS = {
    "TLSv1": "TLSv1",
    "TLSv1.0": "TLSv1",
    "TLSv1.1": "TLSv1_1",
    "TLSv1.2": "TLSv1_2",
    "TLSv1.3": "TLSv1_3",
}


def _tls_version(label: str) -> ssl.TLSVersion:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ssl.TLSVersion.TLSv1", DeprecationWarning)
        return getattr(ssl.TLSVersion, _VERSIONS[label])  # type: ignore[no-any-return]


def server_context(
    cert_file: Path | None,
    key_file: Path | None,
    *,
    ciphers: str | None = None,
    min_version: str | None = None,
    max_version: str | None = None,
    dh_params: Path | None = None,
    ecdh_curve: str | None = None,
    server_preference: bool = True,
    extra_options: int = 0,
) -> ssl.SSLContext:
    """A server context; the cipher string (and its @SECLEVEL) is applied before the key loads."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ssl.TLSVersion.TLSv1", DeprecationWarning)
        warnings.filterwarnings("ignore", "ssl.OP_NO_SSL", DeprecationWarning)
        if min_version is not None:
            context.minimum_version = _tls_version(min_version)
        if max_version is not None:
            context.maximum_version = _tls_version(max_version)
    if server_preference:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= extra_options
    if dh_params is not None:
        context.load_dh_params(str(dh_params))
    if ecdh_curve is not None:
        context.set_ecdh_curve(ecdh_curve)
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


class SslLabServer:
    """Serve TLS with ``context`` on 127.0.0.1 (port chosen by the OS) until closed."""

    def __init__(self, context: ssl.SSLContext, *, host: str = LOOPBACK, port: int = 0) -> None:
        if not host.startswith("127.") and host != "::1":
            raise ValueError("lab servers listen on loopback only")
        self.context = context
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with (
            contextlib.suppress(OSError, ValueError),
            conn,
            self.context.wrap_socket(conn, server_side=True) as tls,
        ):
            tls.recv(4096)
            tls.sendall(_PAGE)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> SslLabServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
