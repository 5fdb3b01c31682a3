"""A TLS server on loopback built on Python's ``ssl`` (the system OpenSSL), for the TLS lab.

Each accepted connection gets its own short-lived thread: handshake, answer one HTTP request with
a tiny page, close. Handshake failures are normal here (keywire hangs up after the server's first
flight) and are ignored. See ``/docs`` of the TLS lab notes for what OpenSSL 3 can serve.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import warnings
from pathlib import Path

from ._loopback import LoopbackServer

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


class SslLabServer(LoopbackServer):
    """Serve TLS with ``context`` on a loopback address until closed."""

    def __init__(self, context: ssl.SSLContext, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.context = context
        super().__init__(host=host, port=port)

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with (
            contextlib.suppress(OSError, ValueError),
            conn,
            self.context.wrap_socket(conn, server_side=True) as tls,
        ):
            tls.recv(4096)
            tls.sendall(_PAGE)
