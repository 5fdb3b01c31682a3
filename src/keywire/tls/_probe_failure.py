"""How a depth probe's failure becomes a :class:`~.results.ProbeStatus`: the server's doing
(the probe did not complete) or keywire's limit (the probe was skipped)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .._dataclass import dataclass
from . import session13, tls12
from ._wire import DecodeError
from .connection import ConnectFailed
from .results import ProbeStatus


@dataclass(frozen=True)
class Failure:
    """Why a probe could not decide; ``limited`` when it is keywire's limit, not the server's."""

    reason: str
    limited: bool = False


def failure_of(exc: BaseException, timeout: float) -> Failure:
    if isinstance(exc, tls12.Unsupported | session13.Unsupported):
        return Failure(f"not tested: keywire cannot complete this handshake ({exc})", True)
    if isinstance(exc, tls12.Refused | session13.Closed):
        return Failure(f"the server refused ({exc})")
    if isinstance(exc, DecodeError):
        return Failure(f"malformed answer: {exc}")
    if isinstance(exc, asyncio.TimeoutError):
        return Failure(f"no complete answer within {timeout:g}s")
    if isinstance(exc, ConnectFailed):
        return Failure(str(exc))
    if isinstance(exc, OSError):
        return Failure(f"the connection failed ({exc.strerror or exc})")
    raise exc


def status(name: str, failures: Sequence[Failure | None]) -> ProbeStatus:
    found = [f for f in failures if f is not None]
    if not found:
        return ProbeStatus(name=name, completed=True)
    return ProbeStatus(
        name=name,
        completed=False,
        reason="; ".join(f.reason for f in found),
        skipped=all(f.limited for f in found),
    )


EXPECTED = (
    tls12.Refused,
    tls12.Unsupported,
    session13.Closed,
    session13.Unsupported,
    DecodeError,
    asyncio.TimeoutError,
    ConnectFailed,
    OSError,
)
