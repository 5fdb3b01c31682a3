"""A TLS server on loopback built on tlslite-ng (pure Python), for what OpenSSL 3 cannot serve:
SSL 3.0, RC4, 3DES and MD5 MACs with RSA key exchange. tlslite-ng is a test dependency; this
module imports it only when a server starts."""

from __future__ import annotations

import contextlib
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._loopback import LoopbackServer


def _tlslite(*names: str) -> tuple[Any, ...]:
    with warnings.catch_warnings():
        # tlslite-ng 0.8 imports asyncore, deprecated since Python 3.10.
        warnings.filterwarnings("ignore", "The asyncore module is deprecated", DeprecationWarning)
        import tlslite  # type: ignore[import-untyped]
    return tuple(getattr(tlslite, name) for name in names)


@dataclass(frozen=True, kw_only=True)
class TlsliteProfile:
    """tlslite-ng settings: versions as (major, minor) pairs, names as tlslite spells them."""

    versions: tuple[tuple[int, int], ...] = ((3, 3),)
    ciphers: tuple[str, ...] = ("aes128gcm",)
    key_exchange: tuple[str, ...] = ("ecdhe_rsa",)
    macs: tuple[str, ...] = ("aead", "sha256", "sha")
    #: tlslite-ng 0.8 fails TLS 1.3 handshakes that carry ALPN when the server has none.
    alpn: tuple[str, ...] = ("http/1.1",)


class TlsliteServer(LoopbackServer):
    """Serve ``profile`` with ``cert_pem``/``key_pem`` on 127.0.0.1 until closed."""

    def __init__(
        self, profile: TlsliteProfile, cert_pem: bytes, key_pem: bytes, *, host: str = "127.0.0.1"
    ) -> None:
        HandshakeSettings, X509CertChain, parsePEMKey = _tlslite(
            "HandshakeSettings", "X509CertChain", "parsePEMKey"
        )
        chain = X509CertChain()
        chain.parsePemList(cert_pem.decode("ascii"))
        self._chain = chain
        self._key = parsePEMKey(key_pem.decode("ascii"), private=True)
        settings = HandshakeSettings()
        versions: Sequence[tuple[int, int]] = sorted(profile.versions, reverse=True)
        settings.minVersion = versions[-1]
        settings.maxVersion = versions[0]
        settings.versions = list(versions)
        settings.cipherNames = list(profile.ciphers)
        settings.keyExchangeNames = list(profile.key_exchange)
        settings.macNames = list(profile.macs)
        self._settings = settings
        self._alpn = [bytearray(name.encode("ascii")) for name in profile.alpn]
        super().__init__(host=host)

    def handle(self, conn: socket.socket) -> None:
        (TLSConnection,) = _tlslite("TLSConnection")
        conn.settimeout(5)
        with contextlib.suppress(Exception), conn:
            tls: Any = TLSConnection(conn)
            tls.handshakeServer(
                certChain=self._chain,
                privateKey=self._key,
                settings=self._settings,
                alpn=self._alpn,
            )
            tls.read(max=4096)
            tls.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            tls.close()
