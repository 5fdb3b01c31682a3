"""Progress of a fleet scan in numbers: done of total, rate, ETA and failures.

The library only counts (:class:`Meter`); the command line shows the count on stderr, as one live
line on a terminal and as a line every few seconds in a CI log (``keywire.cli``).

>>> meter = Meter(total=10, done=2, clock=lambda: 0.0)
>>> meter.line()
'2/10 targets (20%), 0 failed'
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .._models import TargetResult

#: The rate is measured over the last this many seconds (a fleet's pace changes).
RATE_WINDOW_S = 30.0


class FleetObserver(Protocol):
    """What a fleet run tells whoever shows progress (the CLI); the library never prints."""

    def started(self, meter: Meter) -> None: ...

    def finished(self, result: TargetResult) -> None: ...

    def tick(self) -> None: ...

    def ended(self) -> None: ...


class Meter:
    """Counts of a run: ``done`` of ``total`` (resumed targets included), ``failed`` (targets
    not scanned), the recent rate and the time left at that rate."""

    def __init__(
        self, *, total: int, done: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.done = done
        self.resumed = done
        self.failed = 0
        self._clock = clock
        self.started = clock()
        self._recent: deque[float] = deque()

    def add(self, result: TargetResult) -> None:
        self.done += 1
        if not result.scanned:
            self.failed += 1
        now = self._clock()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - RATE_WINDOW_S:
            self._recent.popleft()

    @property
    def rate(self) -> float:
        """Targets a second, over the last :data:`RATE_WINDOW_S` (or since the start)."""
        now = self._clock()
        while self._recent and self._recent[0] < now - RATE_WINDOW_S:
            self._recent.popleft()
        span = min(RATE_WINDOW_S, now - self.started)
        return len(self._recent) / span if span > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate
        left = self.total - self.done
        if left <= 0:
            return 0.0
        return left / rate if rate > 0 else None

    def line(self) -> str:
        """``1200/10000 targets (12%), 45.2/s, ETA 3m15s, 3 failed``."""
        share = f" ({100 * self.done // self.total}%)" if self.total else ""
        parts = [f"{self.done}/{self.total} targets{share}"]
        rate = self.rate
        if rate > 0:
            parts.append(f"{rate:.1f}/s")
            eta = self.eta_s
            if eta is not None and self.done < self.total:
                parts.append(f"ETA {duration(eta)}")
        parts.append(f"{self.failed} failed")
        return ", ".join(parts)


def duration(seconds: float) -> str:
    """``45s``, ``3m15s``, ``2h05m``."""
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
