"""A TLS server context for serving an API directly (werkzeug, gunicorn's ``ssl_context``, tests).

The settings follow Mozilla's "intermediate" profile, narrowed for APIs, whose clients are
programs rather than old browsers:

* TLS 1.2 and 1.3 only;
* TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AEAD ciphers (AES-GCM,
  ChaCha20-Poly1305) only; TLS 1.3 suites are all of that kind already;
* no TLS compression, no renegotiation, the server's cipher order.

Pair it with an ECDSA P-256 (or RSA >= 2048) certificate from a CA the clients trust.

>>> context = server_context("cert.pem", "key.pem")  # doctest: +SKIP
>>> app.run(ssl_context=context)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import ssl

#: OpenSSL cipher string for TLS 1.2: ECDHE with AEAD, ECDSA and RSA certificates.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"


def server_context(
    certfile: str | os.PathLike[str],
    keyfile: str | os.PathLike[str] | None = None,
    *,
    password: str | None = None,
) -> ssl.SSLContext:
    """An :class:`ssl.SSLContext` for an HTTPS API server with the settings above."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    context.load_cert_chain(certfile, keyfile, password)
    return context
