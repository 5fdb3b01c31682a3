"""The TLS client contexts of HTTP probes: one verifying context per CA file, one that does not verify.

Loading a CA bundle costs tens of milliseconds (the system's and certifi's each hold well over a
hundred roots), so the verifying context is built once per process and ``--ca-file``, when the
first HTTPS request needs it, and shared by every connection; a scan that sends none (``--only
tls``) never builds it. ``--ca-file`` is checked before the scan with :func:`check_ca_file`,
which reads that file alone. The context that does not verify, for anonymous probes of a server
whose certificate failed, loads no bundle at all.
"""

from __future__ import annotations

import functools
import os
import ssl

ALPN = ["http/1.1"]


class CaFileError(ValueError):
    """``--ca-file`` cannot be used (the message says why; it names the file, nothing else)."""


def check_ca_file(ca_file: str) -> None:
    """Raise :class:`CaFileError` unless ``ca_file`` holds a certificate OpenSSL can load.

    Only the file is read (no CA bundle): the scan's verifying context loads it again when an
    HTTPS request needs it, which costs a fraction of a millisecond.
    """
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CaFileError(reason) from exc


def verifying_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A client context that verifies against the system roots, certifi's and ``ca_file``.

    Built once per ``ca_file`` (and its modification time) per process. Raises
    :class:`CaFileError` when ``ca_file`` cannot be read or holds no certificate.
    """
    if ca_file is None:
        return _verifying(None, 0, 0)
    try:
        stat = os.stat(ca_file)
    except OSError as exc:
        raise CaFileError(exc.strerror or str(exc)) from exc
    return _verifying(ca_file, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _verifying(ca_file: str | None, _mtime_ns: int, _size: int) -> ssl.SSLContext:
    import certifi

    context = ssl.create_default_context()
    # Python 3.13 turns on VERIFY_X509_STRICT by default; OpenSSL itself, curl and the clients
    # of most APIs do not. Trust is decided the way they decide it; what the strict profile
    # would refuse is reported apart (KW613), and never withholds the user's credentials.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.load_verify_locations(cafile=certifi.where())
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaFileError(reason) from exc
    context.set_alpn_protocols(ALPN)
    return context


@functools.lru_cache(maxsize=1)
def unverifying_context() -> ssl.SSLContext:
    """A client context that accepts any certificate (and loads no CA bundle)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(ALPN)
    return context
