"""The watch: cycles of scans on a schedule, each result recorded with its alerts at once.

A cycle is one scan in the store (source ``watch``). Its targets are scanned a batch at a time;
each target's result, the alerts it raises, the target's new alert state and the alerts' place
in the outbox are written in one transaction the moment the target finishes, so a crash loses at
most the targets in flight, and never an alert or half of one.

Everything the watch needs to go on lives in the store, so it survives restarts: an unfinished
cycle (the newest watch scan without an end) is resumed with the targets it has not recorded;
otherwise the next cycle starts ``every`` seconds after the previous one started (at once if
that time has passed); alerts not yet delivered are retried; each target's alert state says what
has already been alerted. :meth:`Watch.request_stop` (the CLI calls it on SIGTERM) ends the
watch after the targets in flight, with everything recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .._dataclass import dataclass
from .._display import visible
from .._models import Policy, TargetResult
from .._version import __version__
from ..history.record import annotate_result
from ..history.snapshot import snapshot_of
from ..store import ScanRow, Store, StoreError
from .alerts import AlertPolicy, describe, evaluate
from .delivery import Deliverer
from .webhooks import Webhook, new_alert_id

SOURCE = "watch"


@dataclass(frozen=True, kw_only=True)
class WatchSettings:
    """What to watch and how. ``options`` is a :class:`keywire.ScanOptions`."""

    targets: tuple[str, ...]
    every: float
    options: Any
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    webhook: Webhook | None = None
    policy: Policy | None = None
    #: Run one cycle (resuming an unfinished one) and stop.
    once: bool = False
    #: Targets scanned at the same time (the most a SIGTERM waits for).
    batch: int = 4
    #: Seconds to wait for the outbox to empty when the watch stops (not while the receiver is
    #: down: those alerts wait in the store).
    drain: float = 5.0
    #: Stop after this many cycles (tests; None: forever).
    max_cycles: int | None = None


@dataclass
class WatchSummary:
    cycles: int = 0
    scanned: int = 0
    alerts: int = 0
    delivered: int = 0
    pending: int = 0
    stopped_by_signal: bool = False


class _Recorder:
    """The scan observer that records each result (and its alerts) as the target finishes."""

    def __init__(self, watch: Watch, store: Store, scan_id: int) -> None:
        self.watch, self.store, self.scan_id = watch, store, scan_id
        self.error: StoreError | None = None

    def target_started(self, target: str) -> None:
        pass

    def target_finished(self, result: TargetResult) -> None:
        if self.error is not None:
            return
        try:
            self.watch.record(self.store, self.scan_id, result)
        except StoreError as exc:  # raised again after the batch; the scan itself goes on
            self.error = exc


class Watch:
    """Run with :meth:`run`; stop from a signal handler with :meth:`request_stop`."""

    def __init__(
        self,
        store_path: Path,
        settings: WatchSettings,
        *,
        say: Callable[[str], None],
        resolver: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store_path = store_path
        self.settings = settings
        self.say = say
        self.resolver = resolver
        self.clock = clock
        self.summary = WatchSummary()
        self._stop = False
        self._deliverer: Deliverer | None = None

    def request_stop(self) -> None:
        """Ask the watch to end after the targets in flight (safe in a signal handler)."""
        self._stop = True
        self.summary.stopped_by_signal = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def run(self) -> WatchSummary:
        """Watch until stopped (or one cycle with ``once``). Raises :class:`StoreError`."""
        settings = self.settings
        with Store.open(self.store_path) as store:
            if settings.webhook is not None:
                self._retry_outbox(store)
                self._deliverer = Deliverer(self.store_path, settings.webhook, say=self.say)
                self._deliverer.start()
            drain = 0.0  # interrupted (Ctrl-C, an error): stop at once, the outbox keeps the rest
            try:
                while not self._stop:
                    if not self._cycle(store):
                        break
                    self.summary.cycles += 1
                    if settings.once or (
                        settings.max_cycles is not None
                        and self.summary.cycles >= settings.max_cycles
                    ):
                        break
                drain = settings.drain
            finally:
                if self._deliverer is not None:
                    self._deliverer.stop(drain=drain)
                    self.summary.delivered = self._deliverer.delivered
                with store.transaction() as tx:
                    self.summary.pending = tx.pending() if settings.webhook is not None else 0
        return self.summary

    # -- one cycle ------------------------------------------------------------------------------

    def _cycle(self, store: Store) -> bool:
        """Run (or resume) one cycle; False when stopped before it could finish."""
        settings = self.settings
        with store.transaction() as tx:
            last = next(iter(tx.scans(limit=1, source=SOURCE)), None)
        scan_id: int
        if last is not None and last.finished_at is None:
            scan_id = last.id
            with store.transaction() as tx:
                done = tx.scanned_in(scan_id)
            self.say(
                f"resuming cycle {scan_id} (started {last.started_at:%Y-%m-%d %H:%M:%S} UTC): "
                f"{len(done)} of {len(settings.targets)} target(s) already scanned"
            )
        else:
            if not settings.once and last is not None and not self._wait_for(last):
                return False
            started = datetime.now(timezone.utc)
            with store.transaction(write=True) as tx:
                scan_id = tx.begin_scan(
                    started_at=started,
                    tool_version=__version__,
                    source=SOURCE,
                    options={"every_s": settings.every, "targets": len(settings.targets)},
                )
            done = set()
            self.say(f"cycle {scan_id}: scanning {len(settings.targets)} target(s)")
            if self.summary.cycles and settings.webhook is not None:
                self._retry_outbox(store)
        remaining = [t for t in settings.targets if t not in done]
        for start in range(0, len(remaining), max(1, settings.batch)):
            if self._stop:
                self.say("stopping: the cycle is resumed where it stopped at the next start")
                return False
            self._scan_batch(store, scan_id, remaining[start : start + settings.batch])
        with store.transaction(write=True) as tx:
            tx.finish_scan(scan_id, finished_at=datetime.now(timezone.utc))
        next_at = datetime.now(timezone.utc) + timedelta(seconds=settings.every)
        if not settings.once:
            self.say(f"cycle {scan_id} done; next at {next_at:%Y-%m-%d %H:%M:%S} UTC")
        else:
            self.say(f"cycle {scan_id} done")
        return True

    def _wait_for(self, last: ScanRow) -> bool:
        """Sleep until ``every`` after the last cycle started; False if stopped meanwhile."""
        due = last.started_at.timestamp() + self.settings.every
        while not self._stop:
            left = due - self.clock()
            if left <= 0:
                return True
            time.sleep(min(0.2, left))
        return False

    def _scan_batch(self, store: Store, scan_id: int, batch: Sequence[str]) -> None:
        from .._scanner import scan
        from ..targets import TargetError

        recorder = _Recorder(self, store, scan_id)
        try:
            scan(
                list(batch),
                options=self.settings.options,
                observer=recorder,
                resolver=self.resolver,
            )
        except TargetError as exc:
            self.say(f"not scanned: {visible(str(exc))}")
        if recorder.error is not None:
            raise recorder.error

    def record(self, store: Store, scan_id: int, result: TargetResult) -> None:
        """Record one target's result with its alerts, in one transaction."""
        now = datetime.now(timezone.utc)
        settings = self.settings
        deliver = settings.webhook is not None
        with store.transaction(write=True) as tx:
            previous = tx.latest(result.target, evidence=False)
            annotated = annotate_result(
                result, previous, scanned_at=now, started_at=now, policy=settings.policy
            )
            recorded = tx.record(scan_id, snapshot_of(annotated, scanned_at=now))
            evaluation = evaluate(
                tx.alert_state(result.target), previous, recorded, policy=settings.alerts, now=now
            )
            tx.set_alert_state(result.target, evaluation.state, now=now)
            for event in evaluation.events:
                alert_id = new_alert_id()
                tx.enqueue(
                    alert_id=alert_id,
                    created_at=now,
                    type=event.type,
                    target=event.target,
                    payload=json.dumps(event.payload(alert_id), ensure_ascii=False, sort_keys=True),
                    deliver=deliver,
                    result_id=recorded.result_id,
                )
        self.summary.scanned += 1
        self.summary.alerts += len(evaluation.events)
        grade = recorded.grade if recorded.answered else "did not answer"
        self.say(visible(f"{result.target}: {grade}"))
        for line in describe(evaluation.events):
            self.say(visible(f"alert {line}"))
        if evaluation.events and self._deliverer is not None:
            self._deliverer.wake()

    def _retry_outbox(self, store: Store) -> None:
        """Make every undelivered alert due now: a start or a new cycle is a natural retry."""
        with store.transaction(write=True) as tx:
            waiting = tx.pending()
            if waiting:
                tx.retry_all(now=self.clock())
        if waiting:
            self.say(f"{waiting} alert(s) wait in the outbox; delivering")
        if self._deliverer is not None:
            self._deliverer.resume()
