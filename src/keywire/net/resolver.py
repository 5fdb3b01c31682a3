"""Name resolution behind one small interface, so tests can inject their own.

Every connection keywire opens (HTTP probes and the raw TLS client) resolves names through a
:class:`Resolver`. The default asks the operating system, except for the names RFC 6761 reserves:
``*.invalid`` never resolves and ``localhost`` is loopback, both without sending a query.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Protocol


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
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), self._timeout
            )
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
        if future is None:
            future = asyncio.ensure_future(self._inner.resolve(host))
            self._cache[key] = future
        return await asyncio.shield(future)
