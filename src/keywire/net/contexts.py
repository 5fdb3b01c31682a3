"""The TLS client contexts of HTTP probes: one verifying context per CA file, one that does not verify.

Loading a CA bundle costs tens of milliseconds (the system's and certifi's each hold well over a
hundred roots), so the verifying context is built once per process and ``--ca-file``, in a
thread (OpenSSL reads the files without the interpreter lock), started as soon as a scan knows
it will send HTTPS requests, and shared by every connection; a scan that sends none (``--only
tls``) never builds it. ``--ca-file`` is checked before the scan with :func:`check_ca_file`,
which reads that file alone. The context that does not verify, for anonymous probes of a server
whose certificate failed, loads no bundle at all.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import ssl
import threading

from .._certifi import certifi_bundle

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

    Built once per ``ca_file`` (and its modification time) per process; waits for a build that
    :func:`prepare_verifying_context` started. Raises :class:`CaFileError` when ``ca_file``
    cannot be read or holds no certificate.
    """
    return verifying_context_future(ca_file).result()


def prepare_verifying_context(ca_file: str | None = None) -> None:
    """Start building the verifying context in a thread, for HTTPS requests to come.

    OpenSSL reads the CA bundles (about 40 ms for the system's and certifi's) without holding
    the interpreter lock, so the build runs on another core while the scan imports its checks
    and probes TLS. An unusable ``ca_file`` raises when the context is asked for.
    """
    verifying_context_future(ca_file)


_builds: dict[tuple[str | None, int, int], concurrent.futures.Future[ssl.SSLContext]] = {}
_builds_lock = threading.Lock()


def verifying_context_future(ca_file: str | None) -> concurrent.futures.Future[ssl.SSLContext]:
    """The (started or finished) build of :func:`verifying_context` for ``ca_file`` as it is
    now: async code awaits it with :func:`asyncio.wrap_future` instead of blocking its loop."""
    key: tuple[str | None, int, int] = (None, 0, 0)
    future: concurrent.futures.Future[ssl.SSLContext]
    if ca_file is not None:
        try:
            stat = os.stat(ca_file)
        except OSError as exc:
            future = concurrent.futures.Future()
            future.set_exception(CaFileError(exc.strerror or str(exc)))
            return future
        key = (ca_file, stat.st_mtime_ns, stat.st_size)
    with _builds_lock:
        if key in _builds:
            return _builds[key]
        if len(_builds) >= _MAX_CONTEXTS:
            _builds.pop(next(iter(_builds)))
        future = _builds[key] = concurrent.futures.Future()

    def build() -> None:
        try:
            future.set_result(_verifying(ca_file))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=build, name="keywire-ca-bundles", daemon=True).start()
    return future


_MAX_CONTEXTS = 8


def forget_contexts() -> None:
    """Drop the built verifying contexts: the next request builds them again (for tests)."""
    with _builds_lock:
        _builds.clear()


def _verifying(ca_file: str | None) -> ssl.SSLContext:
    paths = ssl.get_default_verify_paths()  # what OpenSSL's defaults are (SSL_CERT_FILE/DIR too)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # From files, so that OpenSSL reads them without the interpreter lock. A root in both the
    # system's file and certifi's is stored once (OpenSSL skips a certificate it holds).
    loaded = False
    for bundle in (paths.cafile, certifi_bundle()):
        if bundle:
            with contextlib.suppress(OSError, ssl.SSLError):  # an unreadable bundle is skipped
                context.load_verify_locations(cafile=bundle)
                loaded = True
    if paths.capath:
        with contextlib.suppress(OSError, ssl.SSLError):
            context.load_verify_locations(capath=paths.capath)  # looked up lazily, by hash
    if not loaded:  # no readable bundle: OpenSSL's own defaults, whatever they are
        context.set_default_verify_paths()
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


@functools.lru_cache(maxsize=1)
def unverifying_context() -> ssl.SSLContext:
    """A client context that accepts any certificate (and loads no CA bundle)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(ALPN)
    return context
