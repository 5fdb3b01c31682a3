"""Every task a scan starts ends with it: cancelled and awaited at its deadline.

A probe that starts helper tasks (the TLS engine runs its protocol probes side by side, shared
exchanges run once for several families) used to leave them running when the scan deadline
cancelled the probe: only the awaited one is cancelled by asyncio, the others went on until the
process exit cancelled them, and ``--scan-timeout 8`` ended after 19 s. Two mechanisms close that:

* :class:`TaskScope` records every task started with :func:`spawn` while the scope is active,
  including tasks started by those tasks (the scope travels in a context variable, which every
  task inherits), so closing the scope reaches all of them;
* :func:`cancel_and_wait` cancels *again* until the task is really done: on Python < 3.12
  ``asyncio.wait_for`` swallows a cancellation that arrives just as its inner operation
  completes, and a task that swallowed it would run on to its own timeouts.

>>> import asyncio
>>> async def demo() -> bool:
...     with TaskScope() as scope:
...         orphan = spawn(asyncio.sleep(60))
...     await scope.close(grace=1.0)
...     return orphan.cancelled()
>>> asyncio.run(demo())
True
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

#: How long cancelled work may take to unwind before a scan gives up on it.
CANCEL_GRACE_S = 1.0
_RECANCEL_EVERY_S = 0.05

_CURRENT: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar(
    "keywire_task_scope", default=None
)


class TaskScope:
    """The tasks one scan (or one target of it) started; see the module docstring."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()
        self._token: contextvars.Token[TaskScope | None] | None = None
        self._parent: TaskScope | None = None

    def add(self, task: asyncio.Future[Any]) -> None:
        """Record ``task`` here and in every enclosing scope (closing any of them reaches it)."""
        if not task.done():
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if self._parent is not None:
                self._parent.add(task)

    @property
    def pending(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    def __enter__(self) -> TaskScope:
        self._parent = _CURRENT.get()
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None

    async def close(self, *, grace: float = CANCEL_GRACE_S) -> int:
        """Cancel every task still running and wait (at most ``grace`` s) until they end.

        Returns how many did not end in time (they are left cancelled; none of keywire's
        should ever be among them).
        """
        remaining = await cancel_and_wait(list(self._tasks), grace=grace)
        return len(remaining)


def spawn(work: Awaitable[T]) -> asyncio.Future[T]:
    """``asyncio.ensure_future(work)``, recorded in the active :class:`TaskScope` if any."""
    task = asyncio.ensure_future(work)
    scope = _CURRENT.get()
    if scope is not None:
        scope.add(task)
    return task


async def cancel_and_wait(
    tasks: Iterable[asyncio.Future[Any]], *, grace: float = CANCEL_GRACE_S
) -> set[asyncio.Future[Any]]:
    """Cancel ``tasks`` and wait for them to end, cancelling again every 50 ms (a cancellation
    can be swallowed, see the module docstring). Returns those still running after ``grace``.
    """
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    give_up = loop.time() + grace
    while pending:
        for task in pending:
            task.cancel()
        left = give_up - loop.time()
        if left <= 0:
            break
        _done, pending = await asyncio.wait(pending, timeout=min(_RECANCEL_EVERY_S, left))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a cancelled scan must not log "never retrieved"
    return pending


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, with ``main``'s result kept out of the task that runs it.

    When it ends, ``asyncio.run`` asks ``signal.getsignal`` for the SIGINT handler; turning
    asyncio's handler into an enum member fails, and the error message it builds holds the
    ``repr`` of that handler: of the main task, and so of the task's result. For a scan that is
    the repr of its whole report (about 2 ms for one target, more for a fleet), thrown away.
    """
    kept: list[T] = []

    async def keep() -> None:
        kept.append(await main)

    asyncio.run(keep())
    return kept[0]
