"""A fleet run: plan, scan (in this process or in workers), finish and spool, target by target.

:func:`run_fleet` is what ``keywire scan`` runs for every scan, one URL or ten thousand:

1. the targets not already in the ``--resume`` stream are planned (:mod:`keywire._plan`);
2. they are scanned by the one runner (:func:`keywire._scanner.stream_plan`), in this process
   or sharded across worker processes (:mod:`keywire.fleet._pool`);
3. each result, as it ends, is finished (policy, baseline: :class:`keywire.finish.Finisher`),
   counted (:class:`keywire._totals.Totals`), written as one record to the spool and to every
   live JSONL stream (flushed), and shown to the observer (progress);
4. the report itself is finished once and its summary record closes the stream.

Nothing grows with the number of targets but the spool's offsets (one integer per target).
Reports other than the stream are assembled from the spool afterwards (:mod:`.assemble`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING

from .. import _gcpause
from .._dataclass import dataclass
from .._models import Gate, Policy, ScanReport, TargetResult
from .._plan import ScanPlan, plan_scan, plan_urls
from .._stream import merge
from .._version import __version__
from ..finish import Finisher
from ..net.pins import parse_pins, with_pins
from ..reporters.jsonl import line, summary_record, target_record
from ..scanoptions import ScanOptions
from ._pool import STALL_GRACE_S, PoolReport, pool_results, shard
from ._progress import FleetObserver, Meter
from ._records import result_from_record
from ._spool import ResumeState, Spool

if TYPE_CHECKING:
    from .._totals import Totals
    from ..baseline import Baseline
    from ..net.resolver import Resolver

#: A worker is worth starting for at least this many targets: a process costs ~0.25 s of CPU to
#: start and import, about 10 HTTPS targets' worth. Measured on loopback fleets of HTTPS APIs
#: (bench/README.md, "Fleets"): 2 processes lose on 16 and 32 targets and break even near 64.
MIN_TARGETS_PER_WORKER = 48
#: Unscanned targets whose reasons are kept for the closing messages (the rest are counted).
KEPT_FAILURES = 20


@dataclass
class FleetRequest:
    """What to scan and how. ``targets`` are URLs (checked: a bad one is a usage error)."""

    targets: Sequence[str]
    options: ScanOptions
    policy: Policy | None = None
    baseline: Baseline | None = None
    gate: Gate | None = None
    #: Worker processes (None: the CPU count); fewer for a small scan, none for a spec scan.
    workers: int | None = 1
    resume: ResumeState | None = None
    #: Where the stream is spooled (the JSONL file, the resume file), None for a temporary one.
    spool_path: str | None = None
    #: Streams that get every record live (stdout with ``--format jsonl``).
    live: list[IO[str]] = field(default_factory=list)
    observer: FleetObserver | None = None
    resolver: Resolver | None = None
    verbose: int = 0
    #: Applied to each result after the policy and the baseline, before it is counted and
    #: written (the history store's time rules).
    annotate: Callable[[TargetResult], TargetResult] | None = None
    #: When the scan started (default: when :func:`run_fleet` is called).
    started_at: datetime | None = None
    #: A Redis broker URL: the targets are scanned by ``keywire worker`` processes on it
    #: (:mod:`keywire.distributed`), not in this machine's processes.
    broker: str | None = None


@dataclass
class FleetResult:
    """A finished run: the report's head (``targets=()``: they are in the spool), its totals,
    the spool, and what the closing messages need."""

    envelope: ScanReport
    totals: Totals
    spool: Spool
    order: dict[str, int]
    failures: list[tuple[str, str]]
    workers: int
    pool: PoolReport

    def report(self) -> ScanReport:
        """The whole report in memory (for the formats that cannot be streamed)."""
        targets = tuple(result_from_record(r) for r in self.spool.records(self.position))
        return dataclasses.replace(self.envelope, targets=targets)

    def position(self, target: str) -> tuple[int, str]:
        return self.order.get(target, len(self.order)), target


async def run_fleet(request: FleetRequest) -> FleetResult:
    """Run ``request`` (see the module docstring). Raises TargetError, SpecError before any
    traffic; cancelling it stops every worker and leaves the spool as far as it got."""
    options = request.options
    started_at = request.started_at or datetime.now(timezone.utc)
    started = time.perf_counter()
    run_deadline = started + options.scan_timeout if options.scan_timeout is not None else None
    resolver = with_pins(request.resolver, options)
    plan = await _plan(request, resolver, run_deadline, started)
    order = {r.target: i - len(plan.leading) for i, r in enumerate(plan.leading)}
    order.update((p.target.url, i) for i, p in enumerate(plan.targets))
    resume = request.resume
    if resume is not None:
        plan = ScanPlan(
            targets=tuple(p for p in plan.targets if p.target.url not in resume.done),
            leading=tuple(r for r in plan.leading if r.target not in resume.done),
        )
    envelope = ScanReport(
        tool_version=__version__,
        started_at=started_at,
        duration_s=0.0,
        targets=(),
        score=None,
        options=options.public(),
    )
    finisher = Finisher(
        envelope,
        policy=request.policy,
        baseline=request.baseline,
        gate=request.gate,
        annotate=request.annotate,
    )
    spool = Spool(request.spool_path, resume=resume)
    try:
        failures: list[tuple[str, str]] = []
        meter = Meter(total=len(plan.leading) + len(plan.targets))
        again = {r.target for r in plan.leading} | {p.target.url for p in plan.targets}
        for record in (
            spool.records(lambda url: (order.get(url, len(order)), url)) if resume else ()
        ):
            if record["target"] in again:
                continue  # lost with its worker last time: scanned again now
            old = finisher.target(result_from_record(record), finished=True)
            meter.total += 1
            meter.done += 1
            meter.resumed += 1
            _note_failure(old, failures)
            for stream in request.live:
                stream.write(line(target_record(old)))
        observer = request.observer
        if observer is not None:
            observer.started(meter)
        workers = _workers(request, plan)
        pool = PoolReport()
        results = _results(request, plan, workers, resolver, run_deadline, pool)
        #: The results as scanned (before the policy), when their observations are saved.
        observed: list[TargetResult] | None = [] if options.save_observations else None
        ticker = asyncio.ensure_future(_tick(observer)) if observer is not None else None
        try:
            async for result in results:
                _gcpause.resume()  # from workers or a broker too (see keywire._gcpause)
                if observed is not None:
                    observed.append(result)
                finished = finisher.target(result)
                text = line(target_record(finished))
                spool.write(text, finished.target)
                for stream in request.live:
                    stream.write(text)
                    stream.flush()
                meter.add(finished)
                _note_failure(finished, failures)
                if observer is not None:
                    observer.finished(finished)
        finally:
            if ticker is not None:
                ticker.cancel()
            await results.aclose()
        envelope = dataclasses.replace(
            envelope,
            duration_s=round(time.perf_counter() - started, 3),
            notices=(*envelope.notices, *pool.lost),
        )
        if observed is not None and options.save_observations is not None:
            _save_observations(envelope, observed, order, options.save_observations)
        envelope = finisher.report(envelope)
        closing = line(summary_record(envelope, finisher.totals))
        spool.write(closing, None)
        for stream in request.live:
            stream.write(closing)
            stream.flush()
        if observer is not None:
            observer.ended()
    except BaseException:
        spool.discard()  # a temporary spool goes; a JSONL file stays, for --resume
        raise
    return FleetResult(
        envelope=envelope,
        totals=finisher.totals,
        spool=spool,
        order=order,
        failures=failures,
        workers=workers,
        pool=pool,
    )


async def _plan(
    request: FleetRequest,
    resolver: Resolver | None,
    run_deadline: float | None,
    started: float,
) -> ScanPlan:
    options = request.options
    if options.spec is not None:
        planning = run_deadline if run_deadline is not None else started + options.target_timeout
        return await plan_scan(request.targets, options, resolver=resolver, deadline=planning)
    return plan_urls(request.targets, options)


def _save_observations(
    envelope: ScanReport, observed: list[TargetResult], order: dict[str, int], path: str
) -> None:
    """Write what the checks judged (:mod:`keywire.observations`), in the plan's order."""
    from ..observations.file import ObservationsError, write

    ranked = sorted(observed, key=lambda r: (order.get(r.target, len(order)), r.target))
    try:
        write(dataclasses.replace(envelope, targets=tuple(ranked)), path)
    except OSError as exc:
        raise ObservationsError(
            f"cannot write the observations to {path!r}: {exc.strerror or exc}"
        ) from None


def _workers(request: FleetRequest, plan: ScanPlan) -> int:
    """How many processes this plan is worth, this one included (0 or 1: this one alone)."""
    if request.options.spec is not None or request.resolver is not None or request.broker:
        return 0  # a spec plan, or a resolver object, lives in this process only
    if request.options.save_observations is not None:
        return 0  # observations stay in the process that captured them
    wanted = request.workers or os.cpu_count() or 1
    worth = math.ceil(len(plan.targets) / MIN_TARGETS_PER_WORKER)
    chosen = min(wanted, worth) if request.workers is None else min(wanted, len(plan.targets))
    return chosen if chosen > 1 else 0


async def _results(
    request: FleetRequest,
    plan: ScanPlan,
    workers: int,
    resolver: Resolver | None,
    run_deadline: float | None,
    pool: PoolReport,
) -> AsyncGenerator[TargetResult, None]:
    """Every result of ``plan``: from this process alone, or, with ``workers`` processes, from
    this one (its share) and ``workers - 1`` worker processes (theirs), merged as they come."""
    from .._scanner import stream_plan

    options = request.options
    if request.broker:
        from ..distributed.coordinator import broker_results

        for leading in plan.leading:
            yield leading
        urls = [p.target.url for p in plan.targets]
        spread = broker_results(request.broker, urls, options, run_deadline=run_deadline)
        try:
            async for result in spread:
                yield result
        finally:
            await spread.aclose()
        return
    shares = shard([p.target for p in plan.targets], max(1, workers), parse_pins(options.resolve))
    if len(shares) > 1:
        each = {
            "max_targets": max(1, options.max_targets // len(shares)),
            "max_connections": max(1, options.max_connections // len(shares)),
        }
        mine = set(shares[-1])
        local_plan = ScanPlan(
            targets=tuple(p for p in plan.targets if p.target.url in mine), leading=plan.leading
        )
        local_options = dataclasses.replace(
            options, max_targets=each["max_targets"], max_connections=each["max_connections"]
        )
    else:
        local_plan, local_options = plan, options

    async def local() -> AsyncIterator[TargetResult]:
        async for _index, result in stream_plan(
            local_plan, local_options, resolver=resolver, observer=None, deadline=run_deadline
        ):
            yield result

    if len(shares) <= 1:
        async for result in local():
            yield result
        return
    from ._worker import options_to_job

    remaining = run_deadline - time.perf_counter() if run_deadline is not None else None
    job = {
        "options": {**options_to_job(options), **each},
        "deadline_in": remaining,
        "verbose": request.verbose,
    }
    remote = pool_results(
        shares[:-1], job, stall_after=options.target_timeout + STALL_GRACE_S, report=pool
    )
    async for result in merge(local(), remote):
        yield result


def _note_failure(result: TargetResult, failures: list[tuple[str, str]]) -> None:
    if not result.scanned and len(failures) < KEPT_FAILURES:
        failures.append((result.target, result.error))


async def _tick(observer: FleetObserver) -> None:
    while True:
        await asyncio.sleep(0.5)
        observer.tick()
