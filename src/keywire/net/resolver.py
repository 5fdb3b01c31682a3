"""Name resolution behind one small interface, so tests can inject their own.

Every connection keywire opens (HTTP probes and the raw TLS client) resolves names through a
:class:`Resolver`. The default asks the operating system, except for the names RFC 6761 reserves:
``*.invalid`` never resolves and ``localhost`` is loopback, both without sending a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .._tasks import spawn

#: Lookups still running in the background (a resolver that never answers) before keywire
#: stops starting new ones.
MAX_LOOKUP_THREADS = 64
_LOOKUP_THREADS = threading.BoundedSemaphore(MAX_LOOKUP_THREADS)


class ResolutionError(Exception):
    """A host name could not be resolved."""


class Resolver(Protocol):
    async def resolve(self, host: str) -> tuple[str, ...]:
        """Return the IP addresses of ``host``, or raise :class:`ResolutionError`."""
        ...


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _reserved(host: str) -> tuple[str, ...] | None:
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return ("127.0.0.1", "::1")
    if name == "invalid" or name.endswith(".invalid"):
        raise ResolutionError(
            f"cannot resolve {host}: the .invalid domain never resolves (RFC 6761)"
        )
    return None


class SystemResolver:
    """Resolve through the operating system (``getaddrinfo``), with a timeout."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout

    async def resolve(self, host: str) -> tuple[str, ...]:
        literal = _literal(host)
        if literal is not None:
            return (literal,)
        reserved = _reserved(host)
        if reserved is not None:
            return reserved
        try:
            infos = await asyncio.wait_for(_getaddrinfo(host), self._timeout)
        except asyncio.TimeoutError as exc:
            raise ResolutionError(
                f"cannot resolve {host}: no answer in {self._timeout:g}s"
            ) from exc
        except (OSError, UnicodeError) as exc:
            raise ResolutionError(f"cannot resolve {host}: {exc}") from exc
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise ResolutionError(f"cannot resolve {host}: no addresses")
        return addresses


async def _getaddrinfo(host: str) -> list[Any]:
    """``getaddrinfo`` in a daemon thread of its own.

    ``getaddrinfo`` cannot be interrupted. In the event loop's default executor, a lookup that
    hangs on an unresponsive DNS server would hold the process at exit (``asyncio.run`` joins
    the executor's threads) long after the scan deadline; a daemon thread is simply left
    behind. Their number is bounded by :data:`MAX_LOOKUP_THREADS`.
    """
    if not _LOOKUP_THREADS.acquire(blocking=False):
        raise ResolutionError(f"cannot resolve {host}: too many earlier lookups still pending")
    loop = asyncio.get_running_loop()
    future: asyncio.Future[list[Any]] = loop.create_future()

    def deliver(result: list[Any] | None, error: BaseException | None) -> None:
        if future.done():
            return  # the caller gave up (deadline, timeout)
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    def lookup() -> None:
        try:
            result, error = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM), None
        except Exception as exc:
            result, error = None, exc
        finally:
            _LOOKUP_THREADS.release()
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=lookup, name="keywire-dns", daemon=True).start()
    return await future


class StaticResolver:
    """Resolve from a fixed table; anything else fails. For tests and pinned scans.

    >>> import asyncio
    >>> asyncio.run(StaticResolver({"api.test": ["127.0.0.1"]}).resolve("api.test"))
    ('127.0.0.1',)
    """

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = {k.lower(): tuple(v) for k, v in table.items()}

    async def resolve(self, host: str) -> tuple[str, ...]:
        literal = _literal(host)
        if literal is not None:
            return (literal,)
        try:
            return self._table[host.rstrip(".").lower()]
        except KeyError:
            raise ResolutionError(f"cannot resolve {host}: unknown host") from None


class CachingResolver:
    """Remember answers (and failures) for the length of one scan."""

    def __init__(self, inner: Resolver) -> None:
        self._inner = inner
        self._cache: dict[str, asyncio.Future[tuple[str, ...]]] = {}

    async def resolve(self, host: str) -> tuple[str, ...]:
        key = host.lower()
        future = self._cache.get(key)
        if future is None or future.cancelled():
            future = spawn(self._inner.resolve(host))
            self._cache[key] = future
        elif future.done():
            return future.result()  # (or its error): no task to wait for an answer we have
        return await asyncio.shield(future)
