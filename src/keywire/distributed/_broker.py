"""The Dramatiq broker on Redis, made the same way by the coordinator and the workers.

Dramatiq and redis are the optional extra ``keywire[distributed]``: they are imported here,
when a distributed scan or a worker starts, never when keywire is imported (:func:`require`
turns their absence into one clear message).

The broker URL may carry the Redis password (``redis://:PASSWORD@host:6379/0``); keywire never
prints it (:func:`public_url`), and ``KEYWIRE_BROKER_PASSWORD`` supplies it without putting it
on a command line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

#: The Dramatiq queue and actor of keywire's messages.
QUEUE = "keywire"
ACTOR = "keywire_scan"
#: Dramatiq's key prefix in Redis (keywire's own keys start with ``keywire:``).
NAMESPACE = "dramatiq"
#: The environment variable holding the broker's password (instead of the URL).
PASSWORD_ENV = "KEYWIRE_BROKER_PASSWORD"  # noqa: S105 - a variable name
#: In a million broker commands, how many also requeue the messages of dead workers. Dramatiq's
#: default (1,000) leaves a killed worker's messages waiting for minutes on a quiet queue.
MAINTENANCE_CHANCE = 100_000
SCHEMES = ("redis", "rediss", "unix")


class MissingExtra(RuntimeError):
    """Dramatiq or redis is not installed."""


class BrokerError(RuntimeError):
    """The broker cannot be reached or refused keywire (the message never holds a password)."""

    @classmethod
    def of(cls, url: str, exc: BaseException) -> BrokerError:
        text = f"{type(exc).__name__}: {exc}"
        for secret in (urlsplit(url).password, os.environ.get(PASSWORD_ENV)):
            if secret:
                text = text.replace(secret, "***")
        return cls(f"the broker {public_url(url)} failed: {text}")


def require() -> None:
    """Raise :class:`MissingExtra` unless Dramatiq (with its Redis broker) and redis import."""
    try:
        import dramatiq
        import dramatiq.brokers.redis  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        raise MissingExtra(
            f"--broker needs keywire's distributed extra ({exc.name or 'dramatiq'} is not "
            "installed): install keywire with its distributed extra (in a checkout: "
            "pip install '.[distributed]')"
        ) from None


def check_url(url: str) -> str:
    """``url`` if it names a Redis broker; else ValueError (which never quotes a password)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or (parts.scheme != "unix" and not parts.hostname):
        raise ValueError(
            f"--broker takes redis://HOST:PORT/DB or rediss://HOST:PORT/DB (TLS), not "
            f"{public_url(url)!r}"
        )
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise ValueError(f"--broker: bad port in {public_url(url)!r}") from None
    return url


def public_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username
    return urlunsplit(parts._replace(netloc=f"{user + ':' if user else ':'}***@{host}"))


def connection_kwargs() -> dict[str, Any]:
    """What every Redis connection of keywire's adds to its URL (the password from the
    environment, when there is one)."""
    password = os.environ.get(PASSWORD_ENV)
    return {"password": password} if password else {}


def make_broker(url: str, *, heartbeat_timeout_s: float = 15.0) -> RedisBroker:
    """A Redis broker for ``url`` with the middleware keywire's actor needs (the AsyncIO
    middleware runs its coroutine on the worker's one event loop)."""
    import redis
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO, default_middleware

    pool = redis.ConnectionPool.from_url(url, **connection_kwargs())
    return RedisBroker(  # type: ignore[no-untyped-call]
        client=redis.Redis(connection_pool=pool),
        namespace=NAMESPACE,
        middleware=[m() for m in default_middleware] + [AsyncIO()],
        heartbeat_timeout=int(heartbeat_timeout_s * 1000),
        maintenance_chance=MAINTENANCE_CHANCE,
    )


def check_reachable(url: str) -> None:
    """Raise :class:`BrokerError` unless the broker answers (authenticated) at ``url``."""
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=10, **connection_kwargs()) as client:
            client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise BrokerError.of(url, exc) from None


def async_client(url: str) -> Any:
    """An asyncio Redis client for ``url`` (keywire's own keys)."""
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, **connection_kwargs())
