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

A target's probes open dozens of connections to its server, one after another: a lease given
back is kept by its process for :data:`IDLE_S` and handed to the next connection to the same
server, without a round trip to Redis (a lease still counts while it waits, so the cap is never
passed; it only may be held a moment longer). This halves the broker's share of a target's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from typing import Any

from ._keys import ACQUIRE, LEASE_MS, RENEW, RENEW_S, ScanKeys

_FIRST_PAUSE_S = 0.01
_LONGEST_PAUSE_S = 0.25
#: A lease given back waits this long for the next connection to its server in this process.
IDLE_S = 0.1


class Leases:
    """The leases this worker process holds, renewed by one task on its event loop."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.owner = uuid.uuid4().hex[:12]
        self._numbers = itertools.count(1)
        self._held: dict[str, str] = {}  # token -> key (in use or idle)
        self._idle: dict[str, list[tuple[str, float]]] = {}  # key -> (token, given back at)
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._renewer: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._freed: dict[str, asyncio.Event] = {}  # key -> set when a lease is given back

    async def take(self, key: str, limit: int) -> str:
        """Wait for a lease on ``key`` (at most ``limit`` at once); its token."""
        token = f"{self.owner}:{next(self._numbers)}"
        pause = _FIRST_PAUSE_S
        while True:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()[0]
            if await self._acquire(keys=[key], args=[limit, LEASE_MS, token]):
                break
            freed = self._freed.setdefault(key, asyncio.Event())
            with contextlib.suppress(asyncio.TimeoutError):  # a lease freed here, or a pause
                await asyncio.wait_for(freed.wait(), pause * (0.5 + random.random()))  # noqa: S311
            pause = min(_LONGEST_PAUSE_S, pause * 2)
        self._held[token] = key
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew_while_held())
        return token

    async def give_back(self, token: str) -> None:
        """The connection is closed: its lease waits :data:`IDLE_S` for the next one."""
        key = self._held.get(token)
        if key is None:
            return
        self._idle.setdefault(key, []).append((token, time.monotonic()))
        freed = self._freed.pop(key, None)
        if freed is not None:
            freed.set()  # a connection of this process waiting for this server takes it
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.ensure_future(self._reap_while_idle())

    async def _reap_while_idle(self) -> None:
        """Give back to Redis the leases idle for :data:`IDLE_S`."""
        while self._idle:
            await asyncio.sleep(IDLE_S / 2)
            expired = time.monotonic() - IDLE_S
            for key, idle in list(self._idle.items()):
                old = [token for token, since in idle if since <= expired]
                if not old:
                    continue
                kept = [(token, since) for token, since in idle if since > expired]
                if kept:
                    self._idle[key] = kept
                else:
                    del self._idle[key]
                for token in old:
                    self._held.pop(token, None)
                with contextlib.suppress(Exception):  # else they expire within LEASE_MS
                    await self.client.zrem(key, *old)

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
