"""Politeness keyed by server: how many connections keywire opens, to whom, and when it retries.

A fleet is many names, not many servers: fifty API names behind one load balancer, a hundred
paths of one API, every port of one lab host. Capping connections per *name* lets the names
add up on one server. :class:`Politeness` keys its caps by the server a connection actually
reaches, the resolved address and the port, and adds a global cap on connections in flight:

* ``per_server`` connections at once to one address and port (``--per-host``), whatever names
  lead there;
* ``max_connections`` at once in the whole scan (``--max-connections``).

The HTTP client and the TLS engine take one slot per connection (:meth:`Politeness.slot`), for
as long as it is open. Slots are taken per server first, then globally, and given back in the
reverse order, so a connection waiting for a busy server never holds a global slot meanwhile.

A scan spread over many machines (:mod:`keywire.distributed`) shares the per-server caps
through its broker: :data:`SHARED_SLOTS`, set in the context a client is made in, replaces the
per-server semaphores of this process by slots every worker takes from (:class:`ServerSlots`).

Retries (:class:`RetryPolicy`) are for failures of the *connection*, before any answer: a
connection reset or closed before a response started, or the local machine out of sockets or
ports. An answer, even an error page or a refusal by the TCP stack ("nothing listens here"), is a
fact about the server and is never retried; nor is a timeout, which already waited its full time.
"""

from __future__ import annotations

import asyncio
import random
from contextvars import ContextVar
from typing import Protocol

from .._dataclass import dataclass
from .resolver import ResolutionError, Resolver


class ServerSlots(Protocol):
    """Per-server connection slots shared beyond this process (one scan's, on every worker)."""

    async def acquire(self, server: tuple[str, int]) -> object:
        """Wait for a slot of ``server``; what :meth:`release` gives back."""

    async def release(self, token: object) -> None: ...


#: The shared per-server slots of the scan a client is made for (None: this process's own).
SHARED_SLOTS: ContextVar[ServerSlots | None] = ContextVar("keywire_shared_slots", default=None)


class Politeness:
    """Connection slots per server (address and port) and for the whole scan."""

    def __init__(self, resolver: Resolver, *, per_server: int, max_connections: int) -> None:
        self._resolver = resolver
        self._per_server = per_server
        self._shared = SHARED_SLOTS.get()
        self._servers: dict[tuple[str, int], asyncio.Semaphore] = {}
        #: Each name's server address, once resolved (the resolver caches too, but asynchronously;
        #: a slot is taken for every connection).
        self._addresses: dict[str, str] = {}
        self._global = asyncio.Semaphore(max_connections)
        self.max_connections = max_connections
        #: The most connections seen at once (for tests and benchmarks).
        self.peak = 0
        self._open = 0

    async def server_of(self, host: str, port: int) -> tuple[str, int]:
        """The server a connection to ``host:port`` reaches (its first address and the port);
        an unresolvable name stands for itself (its connection will fail soon enough)."""
        name = host.lower()
        address = self._addresses.get(name)
        if address is None:
            try:
                addresses = await self._resolver.resolve(host)
            except ResolutionError:
                return name, port
            address = self._addresses[name] = addresses[0] if addresses else name
        return address, port

    def slot(self, host: str, port: int, address: str | None = None) -> _Slot:
        """Hold one connection slot of the server behind ``host:port`` (``address``, when the
        caller already chose one) and one of the scan's: ``async with politeness.slot(...)``."""
        return _Slot(self, host, port, address)

    async def _acquire(self, host: str, port: int, address: str | None) -> object:
        key = (address, port) if address is not None else await self.server_of(host, port)
        if self._shared is not None:
            return await self._acquire_shared(self._shared, key)
        server = self._servers.get(key)
        if server is None:
            server = self._servers[key] = asyncio.Semaphore(self._per_server)
        await server.acquire()
        try:
            await self._global.acquire()
        except BaseException:
            server.release()
            raise
        self._open += 1
        self.peak = max(self.peak, self._open)
        return server

    async def _acquire_shared(self, shared: ServerSlots, key: tuple[str, int]) -> object:
        token = await shared.acquire(key)
        try:
            await self._global.acquire()
        except BaseException:
            await shared.release(token)
            raise
        self._open += 1
        self.peak = max(self.peak, self._open)
        return token

    async def _release(self, server: object) -> None:
        self._open -= 1
        self._global.release()
        if isinstance(server, asyncio.Semaphore):
            server.release()
        elif self._shared is not None:
            await self._shared.release(server)


class _Slot:
    """One connection's slots (a class, not a generator: one is taken per connection)."""

    __slots__ = ("_address", "_host", "_politeness", "_port", "_server")

    def __init__(self, politeness: Politeness, host: str, port: int, address: str | None) -> None:
        self._politeness = politeness
        self._host = host
        self._port = port
        self._address = address
        self._server: object | None = None

    async def __aenter__(self) -> None:
        self._server = await self._politeness._acquire(self._host, self._port, self._address)

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await self._politeness._release(server)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed connection is tried again.

    The n-th retry waits ``base * 2**(n-1)`` seconds (at most ``cap``), with full jitter so that
    many targets failing at once do not come back at once.
    """

    retries: int = 1
    base: float = 0.25
    cap: float = 4.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        jitter = random.uniform(0, ceiling / 2)  # noqa: S311  # nosec B311: not a secret
        return ceiling / 2 + jitter

    async def wait(self, attempt: int) -> None:
        await asyncio.sleep(self.delay(attempt))
