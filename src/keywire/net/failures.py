"""Exceptions from connections, TLS and h11, turned into failure kinds and one-line reasons."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

from .models import FailureKind
from .resolver import ResolutionError


def _chain_messages(exc: BaseException) -> Sequence[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def classify(exc: BaseException) -> tuple[FailureKind, str]:
    """Turn an exception from the connection, TLS or h11 into a failure kind and a one-line reason."""
    from .h1 import (
        ConnectFailed,
        ConnectionReset,
        ConnectTimeout,
        InvalidUrl,
        MalformedResponse,
        ReadTimeout,
        ServerDisconnected,
        TlsHandshakeFailed,
        TlsHandshakeStalled,
    )

    chain = _chain_messages(exc)
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return FailureKind.CERTIFICATE, f"certificate did not verify: {item.verify_message}"
    for item in chain:
        # Before the connect timeout below: a stalled handshake is not a port that never answered.
        if isinstance(item, TlsHandshakeStalled | TlsHandshakeFailed):
            return FailureKind.TLS, str(item).splitlines()[0][:200]
    for item in chain:
        if isinstance(item, ResolutionError):
            return FailureKind.DNS, str(item)
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return FailureKind.REFUSED, "connection refused"
    first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200] or type(exc).__name__
    if isinstance(exc, ConnectTimeout):
        return FailureKind.CONNECT_TIMEOUT, "connect timed out"
    if isinstance(exc, ReadTimeout):
        return FailureKind.TIMEOUT, "read timed out"
    if isinstance(exc, ConnectFailed):
        if "refused" in first_line.lower():
            return FailureKind.REFUSED, "connection refused"
        return FailureKind.OTHER, f"cannot connect: {first_line}"
    if isinstance(exc, ssl.SSLError):  # raised by the handshake (later ones reset the connection)
        return FailureKind.TLS, f"TLS handshake failed: {first_line}"
    if isinstance(exc, ServerDisconnected):
        return FailureKind.RESET, "server closed the connection without a response"
    if isinstance(exc, ConnectionReset | ConnectionError):
        return FailureKind.RESET, "connection reset by the server"
    if isinstance(exc, MalformedResponse | UnicodeError):
        return FailureKind.PROTOCOL, f"malformed HTTP response: {first_line}"
    if isinstance(exc, InvalidUrl):
        return FailureKind.OTHER, first_line
    return FailureKind.OTHER, f"{type(exc).__name__}: {first_line}"


#: What the local machine says when it runs out of sockets or ports (transient: retried).
_LOCAL_EXHAUSTION = (
    "Cannot assign requested address",
    "Too many open files",
    "No buffer space available",
)


def retryable(kind: FailureKind, reason: str) -> bool:
    """Whether a failure is the connection's, before any answer (see
    :mod:`keywire.net.politeness`): a reset or a close before the response, or the local
    machine out of sockets or ports."""
    if kind is FailureKind.RESET:
        return True
    return kind is FailureKind.OTHER and any(text in reason for text in _LOCAL_EXHAUSTION)
