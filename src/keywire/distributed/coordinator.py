"""The coordinator's side of a distributed scan: enqueue one message per target, collect records.

:func:`broker_results` is what a fleet run (:func:`keywire.fleet.run_fleet`) scans with when it
is given a broker: it yields each target's result as a worker writes it, like the local runner,
and the run finishes, streams, stores and reports them exactly as a local run does.

1. The scan gets a fresh id; its job (the scan options, *without* credential values: only the
   names of the headers the workers add from their own configuration) goes to Redis, and is
   renewed while the scan runs (a coordinator that dies leaves nothing to scan behind it);
2. one Dramatiq message per target, ``(scan id, URL)``, is enqueued (in a thread, while results
   already come back), each with a time limit of the target deadline plus a margin;
3. records are popped from the scan's ``records`` list as workers write them (each target's
   exactly once: :mod:`._keys`); a record for a target that is not outstanding is ignored;
4. at the scan deadline (``--scan-timeout``) the workers end their targets; a few seconds later
   the targets without a record are reported as not scanned;
5. whatever ends the generator (the last result, Ctrl-C, an error) deletes the scan's keys: the
   workers then drop its outstanding messages and stop the targets they were scanning.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from .._models import TargetResult
from .._version import __version__
from ..fleet._records import RecordError, parse_line, result_from_record
from ..scanoptions import ScanOptions
from ._keys import JOB_RENEW_S, JOB_TTL_MS, ScanKeys

log = logging.getLogger("keywire.distributed")

#: A message may run this much longer than its target's deadline before Dramatiq stops it.
TIME_LIMIT_MARGIN_S = 60.0
#: Say so when no worker has taken any message for this long.
NO_WORKER_WARNING_S = 15.0
#: At the scan deadline the workers end the targets they scan (not tested: the deadline); their
#: records are waited for this long, then the targets without one are reported not scanned.
DEADLINE_GRACE_S = 5.0
_POP_WAIT_S = 1.0


def job_of(options: ScanOptions, deadline_at: float | None) -> dict[str, Any]:
    """The job a scan's workers read: its options with the header *names* only."""
    from ..fleet._worker import options_to_job

    values = options_to_job(dataclasses.replace(options, headers={}, save_observations=None))
    return {
        "version": __version__,
        "options": values,
        "headers": sorted(options.headers),
        "deadline_at": deadline_at,
    }


async def broker_results(
    url: str,
    targets: Sequence[str],
    options: ScanOptions,
    *,
    run_deadline: float | None,
    scan_id: str | None = None,
) -> AsyncGenerator[TargetResult, None]:
    """Every target's result, scanned by the workers of the broker at ``url`` (see the module
    docstring). Raises :class:`~._broker.MissingExtra` without the extra installed."""
    import dramatiq.errors
    import redis

    from ._broker import BrokerError, require

    require()
    results = _collect(url, targets, options, run_deadline, scan_id)
    try:
        async with contextlib.aclosing(results):
            async for result in results:
                yield result
    except (redis.RedisError, dramatiq.errors.DramatiqError, OSError) as exc:
        raise BrokerError.of(url, exc) from None


async def _collect(
    url: str,
    targets: Sequence[str],
    options: ScanOptions,
    run_deadline: float | None,
    scan_id: str | None,
) -> AsyncGenerator[TargetResult, None]:
    from ._broker import ACTOR, QUEUE, async_client, make_broker

    keys = ScanKeys(scan_id or uuid.uuid4().hex)
    deadline_at = time.time() + (run_deadline - time.perf_counter()) if run_deadline else None
    client = async_client(url)
    job = json.dumps(job_of(options, deadline_at), separators=(",", ":"))
    await client.set(keys.job, job, px=JOB_TTL_MS)
    stop = threading.Event()
    broker = make_broker(url)
    time_limit_ms = int((options.target_timeout + TIME_LIMIT_MARGIN_S) * 1000)
    enqueuer = asyncio.ensure_future(
        asyncio.to_thread(
            _enqueue, broker, QUEUE, ACTOR, keys.scan_id, targets, time_limit_ms, stop
        )
    )
    renewer = asyncio.ensure_future(_renew(client, keys))
    pending = dict.fromkeys(targets)
    try:
        log.info("scan %s: %d target(s) sent to the broker", keys.scan_id, len(pending))
        started = time.monotonic()
        warned = False
        while pending:
            if run_deadline is not None and time.perf_counter() >= run_deadline + DEADLINE_GRACE_S:
                break  # the workers stop at the deadline too: their last records had time
            if enqueuer.done() and enqueuer.exception() is not None:
                raise enqueuer.exception()  # type: ignore[misc]
            popped = await client.blpop([keys.records], timeout=_POP_WAIT_S)
            if popped is None:
                if not warned and time.monotonic() - started > NO_WORKER_WARNING_S:
                    warned = not await client.hlen(keys.attempts)
                    if warned:
                        log.warning(
                            "no keywire worker has taken a message of this scan yet: are "
                            "workers running on this broker? (keywire worker --broker URL)"
                        )
                continue
            try:
                result = result_from_record(parse_line(popped[1]))
            except RecordError as exc:
                log.warning(
                    "scan %s: a worker wrote something that is not a record: %s", keys.scan_id, exc
                )
                continue
            if result.target not in pending:
                continue
            del pending[result.target]
            yield result
        for target in list(pending):
            del pending[target]
            yield TargetResult(
                target=target,
                scanned=False,
                error="the scan deadline was reached before it started",
            )
    finally:
        stop.set()
        renewer.cancel()
        with contextlib.suppress(BaseException):
            await enqueuer
        with contextlib.suppress(Exception):
            await asyncio.shield(_end(client, keys))
        with contextlib.suppress(Exception):
            broker.close()


def _enqueue(
    broker: Any,
    queue: str,
    actor: str,
    scan_id: str,
    targets: Sequence[str],
    time_limit_ms: int,
    stop: threading.Event,
) -> None:
    from dramatiq import Message

    broker.declare_queue(queue)
    for target in targets:
        if stop.is_set():
            return
        broker.enqueue(
            Message(
                queue_name=queue,
                actor_name=actor,
                args=(scan_id, target),
                kwargs={},
                options={"time_limit": time_limit_ms},
            )
        )


async def _renew(client: Any, keys: ScanKeys) -> None:
    while True:
        await asyncio.sleep(JOB_RENEW_S)
        with contextlib.suppress(Exception):
            await client.pexpire(keys.job, JOB_TTL_MS)


async def _end(client: Any, keys: ScanKeys) -> None:
    """The scan is over: its keys go (its outstanding messages are dropped by the workers)."""
    try:
        await client.delete(keys.job, keys.done, keys.records, keys.attempts)
    finally:
        await client.aclose()
