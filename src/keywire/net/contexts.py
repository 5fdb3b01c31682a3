"""The TLS client contexts of HTTP probes: one verifying context per CA file, one that does not verify.

Loading a CA bundle costs tens of milliseconds (the system's and certifi's each hold well over a
hundred roots), so the verifying context is built once per process and ``--ca-file``, when the
first HTTPS request needs it, and shared by every connection; a scan that sends none (``--only
tls``) never builds it. ``--ca-file`` is checked before the scan with :func:`check_ca_file`,
which reads that file alone. The context that does not verify, for anonymous probes of a server
whose certificate failed, loads no bundle at all.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import ssl
from pathlib import Path

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

    paths = ssl.get_default_verify_paths()  # what OpenSSL's defaults are (SSL_CERT_FILE/DIR too)
    roots = _distinct_roots([paths.cafile, certifi.where()])
    if roots:
        # The system's default file and certifi's hold mostly the same roots, and OpenSSL's
        # store costs about 0.2 ms per certificate added: each distinct root is added once.
        context = ssl.create_default_context(cadata=roots)
        if paths.capath:
            context.load_verify_locations(capath=paths.capath)  # looked up lazily, by hash
    else:  # no readable bundle: OpenSSL's own defaults, whatever they are
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=certifi.where())
    # Python 3.13 turns on VERIFY_X509_STRICT by default; OpenSSL itself, curl and the clients
    # of most APIs do not. Trust is decided the way they decide it; what the strict profile
    # would refuse is reported apart (KW613), and never withholds the user's credentials.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaFileError(reason) from exc
    context.set_alpn_protocols(ALPN)
    return context


_PEM_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----"
)


def _distinct_roots(files: list[str | None]) -> bytes:
    """The distinct certificates of PEM ``files`` (unreadable ones skipped), as DER."""
    seen: dict[str, None] = {}
    for path in files:
        if not path:
            continue
        try:
            text = Path(path).read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for block in _PEM_BLOCK.finditer(text):
            seen.setdefault("".join(block.group("body").split()), None)
    try:
        return b"".join(base64.b64decode(body, validate=True) for body in seen)
    except ValueError:
        return b""  # something odd in a bundle: let OpenSSL read the files itself


@functools.lru_cache(maxsize=1)
def unverifying_context() -> ssl.SSLContext:
    """A client context that accepts any certificate (and loads no CA bundle)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(ALPN)
    return context
