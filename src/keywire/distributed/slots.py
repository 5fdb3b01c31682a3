"""Per-server connection slots shared by every worker of a scan: leases in Redis.

A local run caps the connections open at once to one server (``--per-host``, keyed by the
resolved address and port: :mod:`keywire.net.politeness`). Spread over twenty workers on five
machines the cap must hold for all of them together, so each connection takes a *lease* in the
scan's ``slots:ADDRESS:PORT`` sorted set in Redis (:data:`keywire.distributed._keys.ACQUIRE`):
at most ``per_host`` leases exist at once, whichever worker holds them.

A lease expires unless the worker holding it renews it (every :data:`RENEW_S` seconds, by one
task per worker process: :class:`Leases`). So a worker killed while holding connections gives
its slots back within :data:`LEASE_MS` (Dramatiq's ``ConcurrentRateLimiter`` is a counter: a
killed holder's share would stay taken for as long as other workers kept the key busy).

A worker waiting for a full server polls with a growing, jittered pause (10 ms up to 250 ms);
the target's deadline bounds the wait, as it does a local one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import uuid
from typing import Any

from ._keys import ACQUIRE, LEASE_MS, RENEW, RENEW_S, ScanKeys

_FIRST_PAUSE_S = 0.01
_LONGEST_PAUSE_S = 0.25


class Leases:
    """The leases this worker process holds, renewed by one task on its event loop."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.owner = uuid.uuid4().hex[:12]
        self._numbers = itertools.count(1)
        self._held: dict[str, str] = {}  # token -> key
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._renewer: asyncio.Task[None] | None = None

    async def take(self, key: str, limit: int) -> str:
        """Wait for a lease on ``key`` (at most ``limit`` at once); its token."""
        token = f"{self.owner}:{next(self._numbers)}"
        pause = _FIRST_PAUSE_S
        while not await self._acquire(keys=[key], args=[limit, LEASE_MS, token]):
            await asyncio.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter
            pause = min(_LONGEST_PAUSE_S, pause * 2)
        self._held[token] = key
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew_while_held())
        return token

    async def give_back(self, token: str) -> None:
        key = self._held.pop(token, None)
        if key is not None:
            await self.client.zrem(key, token)

    async def _renew_while_held(self) -> None:
        while self._held:
            await asyncio.sleep(RENEW_S)
            by_key: dict[str, list[str]] = {}
            for token, key in list(self._held.items()):
                by_key.setdefault(key, []).append(token)
            for key, tokens in by_key.items():
                with contextlib.suppress(Exception):  # a miss is retried at the next round
                    await self._renew(keys=[key], args=[LEASE_MS, *tokens])


class RedisSlots:
    """One scan's per-server slots (a :class:`keywire.net.politeness.ServerSlots`)."""

    def __init__(self, leases: Leases, keys: ScanKeys, per_host: int) -> None:
        self._leases = leases
        self._keys = keys
        self._limit = per_host

    async def acquire(self, server: tuple[str, int]) -> object:
        return await self._leases.take(self._keys.slots(server), self._limit)

    async def release(self, token: object) -> None:
        await self._leases.give_back(str(token))
