"""Running many targets as a stream: a bounded window of targets in flight, results as they end.

A fleet of 10,000 targets must not become 10,000 tasks (nor 10,000 results held until the last
one ends): :func:`stream` keeps at most ``limit`` targets running, starts the next one as soon as
one ends and yields each result at once, in the order they end, with its position in the plan.
Closing the stream early (Ctrl-C, a consumer that stops) cancels and awaits whatever still runs.

Deadlines fit fleets (:func:`target_deadline`): each target has its own, counted from when it
starts (``--target-timeout``), and the whole run may have one too (``--scan-timeout``, off by
default); a target gets the earlier of the two, and learns which one it was for its reasons.

>>> import asyncio
>>> async def double(x: int) -> int:
...     await asyncio.sleep(0.01 * (3 - x))
...     return 2 * x
>>> async def demo() -> list[tuple[int, int]]:
...     return [pair async for pair in stream([1, 2], double, limit=2)]
>>> sorted(asyncio.run(demo()))
[(0, 2), (1, 4)]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

from ._dataclass import dataclass
from ._tasks import cancel_and_wait

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Deadline:
    """When a target's time is up (``time.perf_counter()`` seconds) and which deadline that is,
    for the reasons it gives ("not tested: the target deadline (300 s) was reached")."""

    at: float
    what: str

    @property
    def remaining(self) -> float:
        return max(0.0, self.at - time.perf_counter())

    @property
    def passed(self) -> bool:
        return time.perf_counter() >= self.at


def target_deadline(run_deadline: float | None, target_timeout: float) -> Deadline:
    """The deadline of a target starting now: its own, or the run's when that comes first."""
    own = time.perf_counter() + target_timeout
    if run_deadline is not None and run_deadline <= own:
        return Deadline(run_deadline, "the scan deadline")
    return Deadline(own, f"the target deadline ({target_timeout:g} s)")


async def stream(
    items: Iterable[T], run: Callable[[T], Awaitable[R]], *, limit: int
) -> AsyncIterator[tuple[int, R]]:
    """``(index, await run(item))`` for every item, at most ``limit`` running at once, in the
    order they end. ``items`` is read lazily, one item per free place."""
    pending: dict[asyncio.Future[R], int] = {}
    source = enumerate(items)
    exhausted = False

    def refill() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < limit:
            nxt = next(source, None)
            if nxt is None:
                exhausted = True
                return
            index, item = nxt
            pending[asyncio.ensure_future(run(item))] = index

    try:
        refill()
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            finished = sorted(done, key=pending.__getitem__)
            indexes = [pending.pop(task) for task in finished]
            refill()
            for task, index in zip(finished, indexes, strict=True):
                yield index, task.result()
    finally:
        if pending:
            await cancel_and_wait(list(pending))


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


async def merge(*sources: AsyncIterator[T]) -> AsyncIterator[T]:
    """Every item of every source, as each comes. An error in a source is raised here; closing
    the merge early cancels every source (each one's cleanup runs)."""
    queue: asyncio.Queue[T | _Failed | None] = asyncio.Queue(maxsize=64)

    async def pump(source: AsyncIterator[T]) -> None:
        try:
            async for item in source:
                await queue.put(item)
        except Exception as exc:
            await queue.put(_Failed(exc))
            return
        await queue.put(None)  # (a cancelled pump says nothing: the merge is closing)

    tasks = [asyncio.ensure_future(pump(source)) for source in sources]
    running = len(tasks)
    try:
        while running:
            item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item
    finally:
        await cancel_and_wait(tasks)


async def collect(results: AsyncIterator[tuple[int, Any]]) -> list[Any]:
    """Every result of a stream, in plan order (for callers that want them all)."""
    ordered = [pair async for pair in results]
    ordered.sort(key=lambda pair: pair[0])
    return [result for _, result in ordered]
