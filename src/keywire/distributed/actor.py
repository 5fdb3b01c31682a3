"""The worker's side of a message: one target of one scan, scanned once, its record written once.

:func:`scan_message` is the coroutine behind keywire's Dramatiq actor (:func:`declare`). For a
message ``(scan id, target URL)`` it:

1. takes the message in one Lua script (:data:`~._keys.TAKE`, steps 1 to 3): reads the scan's
   job (its options); a scan that is over (cancelled, its coordinator gone) has no job any
   more, and its message is dropped;
2. skips a target whose record is already written (a message delivered again after the worker
   that had it died after writing: the idempotence key is scan id + target);
3. counts the take; a target taken :data:`~._keys.MAX_ATTEMPTS` times already (each time its
   worker died, or the message overran its time limit) is reported as not tested, not tried
   again;
4. adds the credentials the job names, from **this worker's** own configuration (they never
   travel through the broker; a missing one makes the target not scanned, with why);
5. scans the target with the one runner (:func:`keywire._scanner.stream_plan`), its
   connections taking the scan's fleet-wide per-server slots (:mod:`.slots`), watching the job
   so a cancelled scan stops at once;
6. writes the record with :data:`~._keys.STORE_ONCE` (exactly once per scan and target).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import field
from typing import Any, cast

from .. import _json
from .._dataclass import dataclass
from .._models import TargetResult
from .._version import __version__
from ..scanoptions import ScanOptions
from ._keys import MAX_ATTEMPTS, RESULT_TTL_MS, STORE_ONCE, TAKE, ScanKeys
from .slots import Leases, RedisSlots

log = logging.getLogger("keywire.worker")

#: How often a target being scanned checks that its scan still runs.
WATCH_S = 1.0


@dataclass
class WorkerState:
    """What this worker process holds: the broker's URL and its own credentials (header name ->
    value), and, made on the worker's event loop when first needed, its Redis client."""

    url: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    client: Any = None
    leases: Leases | None = None
    store_once: Any = None
    take: Any = None

    def connect(self) -> None:
        if self.client is None:
            from ._broker import async_client

            self.client = async_client(self.url)
            self.leases = Leases(self.client)
            self.store_once = self.client.register_script(STORE_ONCE)
            self.take = self.client.register_script(TAKE)


_state: WorkerState | None = None


def install(state: WorkerState) -> None:
    """Set this process's worker state (``keywire worker`` does, before it starts)."""
    global _state
    _state = state


def declare(broker: Any, *, max_retries: int = MAX_ATTEMPTS) -> Any:
    """keywire's actor on ``broker`` (the coordinator sends its messages by name)."""
    import dramatiq

    from ._broker import ACTOR, QUEUE

    decorate = dramatiq.actor(
        broker=broker,
        actor_name=ACTOR,
        queue_name=QUEUE,
        max_retries=max_retries,
        min_backoff=500,
        max_backoff=5_000,
    )
    return decorate(scan_message)


async def scan_message(scan_id: str, url: str) -> None:
    """Handle one message (see the module docstring)."""
    state = _state
    if state is None:
        raise RuntimeError("keywire worker state not installed")
    state.connect()
    keys = ScanKeys(scan_id)
    taken = await state.take(keys=[keys.job, keys.done, keys.attempts], args=[url, RESULT_TTL_MS])
    if int(taken[0]) < 0:
        log.info(
            "scan %s is over (cancelled, or its coordinator is gone): message dropped", scan_id
        )
        return
    if int(taken[0]) == 0:
        log.info(
            "scan %s: a target's record was already written: duplicate message dropped", scan_id
        )
        return
    attempt, raw = int(taken[0]), taken[1]
    if attempt > MAX_ATTEMPTS:
        why = (
            f"not tested: its scan ended the keywire worker scanning it {MAX_ATTEMPTS} times "
            "(the worker crashed, was killed, or the message overran its time limit); "
            "not tried again"
        )
        await _store(state, keys, TargetResult(target=url, scanned=False, error=why))
        return
    job = _json.loads(raw)
    if not isinstance(job, dict):
        raise RuntimeError("the scan's job in Redis is not a JSON object")
    missing = [name for name in job.get("headers", ()) if name not in state.credentials]
    if missing:
        why = (
            f"not scanned: this keywire worker holds no credential for header {missing[0]} "
            f"(start it with --header-env {missing[0]}=VARIABLE)"
        )
        await _store(state, keys, TargetResult(target=url, scanned=False, error=why))
        return
    try:
        options = _options(state, job)
    except (TypeError, ValueError, KeyError):
        why = (
            f"not scanned: this keywire worker ({__version__}) cannot read the scan's options "
            f"(from keywire {job.get('version')}): run the same keywire version everywhere"
        )
        await _store(state, keys, TargetResult(target=url, scanned=False, error=why))
        return
    try:
        result = await _scan_watched(state, keys, options, job, url)
    except Exception as exc:
        if attempt < MAX_ATTEMPTS:
            raise  # Dramatiq retries it, with backoff
        why = (
            f"not tested: scanning it failed {attempt} times in keywire workers "
            f"({type(exc).__name__}); not tried again"
        )
        result = TargetResult(target=url, scanned=False, error=why)
    if result is not None:
        await _store(state, keys, result)


async def _store(state: WorkerState, keys: ScanKeys, result: TargetResult) -> None:
    from ..reporters.jsonl import line, target_record

    written = await state.store_once(
        keys=[keys.job, keys.done, keys.records],
        args=[result.target, line(target_record(result)), RESULT_TTL_MS],
    )
    if int(written) == 0:
        log.info("scan %s: a target's record was already written: this one dropped", keys.scan_id)


def _options(state: WorkerState, job: Mapping[str, Any]) -> ScanOptions:
    """The scan's options, with this worker's own values of the headers the job names."""
    from ..fleet._worker import options_from_job

    values = dict(job["options"])
    values["headers"] = {name: state.credentials[name] for name in job.get("headers", ())}
    return options_from_job(values)


async def _scan_watched(
    state: WorkerState, keys: ScanKeys, options: ScanOptions, job: Mapping[str, Any], url: str
) -> TargetResult | None:
    """The target's result, or None if its scan ended meanwhile (then the scan is cancelled)."""
    scan = asyncio.ensure_future(_scan(state, keys, options, job, url))
    try:
        while True:
            done, _ = await asyncio.wait({scan}, timeout=WATCH_S)
            if done:
                return scan.result()
            if not await state.client.exists(keys.job):
                log.info("scan %s is over: its target stopped", keys.scan_id)
                return None
    finally:
        if not scan.done():
            scan.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await scan


async def _scan(
    state: WorkerState, keys: ScanKeys, options: ScanOptions, job: Mapping[str, Any], url: str
) -> TargetResult:
    from .._plan import plan_urls
    from .._scanner import stream_plan
    from ..net.pins import with_pins
    from ..net.politeness import SHARED_SLOTS

    deadline_at = job.get("deadline_at")
    deadline = (
        time.perf_counter() + (float(deadline_at) - time.time())
        if deadline_at is not None
        else None
    )
    assert state.leases is not None
    token = SHARED_SLOTS.set(RedisSlots(state.leases, keys, options.per_host))
    try:
        plan = plan_urls([url], options, whole=False)
        results = stream_plan(
            plan, options, resolver=with_pins(None, options), observer=None, deadline=deadline
        )
        async with contextlib.aclosing(cast("AsyncGenerator[Any, None]", results)):
            async for _index, result in results:
                return result
    finally:
        SHARED_SLOTS.reset(token)
    raise RuntimeError("the runner gave no result")
