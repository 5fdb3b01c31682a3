"""The scan pipeline: plan → probes (async network work) → checks (pure) → score → finish.

The plan (:mod:`keywire._plan`: URLs, or an API description's endpoints) says which targets to
scan with which options; this module runs every planned target the same way and finishes the
report once (:func:`keywire.finish_report`). Every selected family's probe runs concurrently
for a target; per-server slots in the HTTP client keep the connection count polite
(:mod:`keywire.net.politeness`). A probe or check that fails for any reason becomes a
:class:`~keywire.CheckOutcome` with a reason, never a crash; a family still running at its
target's deadline (:mod:`keywire._stream`) is recorded as not tested, with which deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from . import _gcpause
from ._models import CheckOutcome, Finding, OutcomeStatus, ScanReport, TargetResult
from ._plan import PlannedTarget, ScanPlan, plan_scan
from ._stream import Deadline, collect, stream, target_deadline
from ._tasks import TaskScope, cancel_and_wait, run, spawn
from ._version import __version__
from .checks._base import Family, internal_error
from .finish import finish_report
from .net.contexts import prepare_verifying_context
from .net.http import FetchFailure, HttpClient, HttpResponse
from .net.pins import with_pins
from .net.resolver import ResolutionError, Resolver
from .observations._scrub import Scrubber
from .observations.capture import ProbeFailed, capture, judge_family
from .options import OPTION
from .probes._context import ProbeContext, ScanSettings, new_canary
from .redact import redact_url, scrub_result
from .rules import RULES
from .scanoptions import ScanOptions
from .scoring import compute_score
from .targets import Target

if TYPE_CHECKING:
    from ._models import Gate
    from .baseline import Baseline
    from .config import Config

log = logging.getLogger("keywire")

#: Targets scanned at the same time by default (``--max-targets``; each also respects the
#: per-server and global connection caps).
MAX_TARGETS_IN_FLIGHT: int = OPTION["max-targets"].default

__all__ = ["MAX_TARGETS_IN_FLIGHT", "ScanObserver", "ScanOptions", "scan", "scan_async"]


class ScanObserver(Protocol):
    """Progress hooks; the CLI attaches one, the library never prints."""

    def target_started(self, target: str) -> None: ...

    def target_finished(self, result: TargetResult) -> None: ...


async def scan_async(
    targets: Sequence[str | Target],
    *,
    options: ScanOptions | None = None,
    resolver: Resolver | None = None,
    observer: ScanObserver | None = None,
    config: Config | None = None,
    baseline: Baseline | None = None,
    gate: Gate | None = None,
) -> ScanReport:
    """Scan ``targets`` (http:// or https:// URLs) and return the finished report.

    With ``config`` (see :func:`keywire.load_config`), its options are used when ``options`` is
    None, and its skipped rules, severity overrides and suppressions are applied to the report;
    with ``baseline``, findings are marked new, unchanged or fixed; ``gate`` is recorded for
    :func:`keywire.gate.evaluate` (see :func:`keywire.finish_report`). Raises
    :class:`~keywire.TargetError` before any network traffic if a target is malformed.
    With ``options.spec``, the spec's GET/HEAD endpoints are scanned (``targets``, if any, are
    base URLs that replace the spec's servers); a spec that cannot be used raises
    :class:`~keywire.openapi.SpecError`. Either way every target runs through the same runner:
    at most ``options.max_targets`` at a time, each within ``options.target_timeout`` (and all
    within ``options.scan_timeout`` when it is set).
    """
    if options is None and config is not None:
        options = config.scan_options()
    options = options or ScanOptions()
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    deadline = started + options.scan_timeout if options.scan_timeout is not None else None
    resolver = with_pins(resolver, options)
    planning = deadline if deadline is not None else started + options.target_timeout
    plan = await plan_scan(targets, options, resolver=resolver, deadline=planning)
    everything = await run_plan(
        plan, options, resolver=resolver, observer=observer, deadline=deadline
    )
    findings = [f for r in everything for f in r.findings]
    score = compute_score(findings, RULES) if any(r.scanned for r in everything) else None
    report = ScanReport(
        tool_version=__version__,
        started_at=started_at,
        duration_s=round(time.perf_counter() - started, 3),
        targets=tuple(everything),
        score=score,
        options=options.public(),
    )
    if options.save_observations is not None:
        from .observations.file import write

        write(report, options.save_observations)
    return finish_report(
        report,
        policy=config.policy if config is not None else None,
        baseline=baseline,
        gate=gate,
    )


def scan(
    targets: Sequence[str | Target] | str,
    *,
    options: ScanOptions | None = None,
    resolver: Resolver | None = None,
    observer: ScanObserver | None = None,
    config: Config | None = None,
    baseline: Baseline | None = None,
    gate: Gate | None = None,
) -> ScanReport:
    """Scan synchronously; see :func:`scan_async`.

    >>> report = scan("http://127.0.0.1:9/")  # doctest: +SKIP
    >>> report.score.grade  # doctest: +SKIP
    'F'
    """
    if isinstance(targets, str):
        targets = [targets]
    return run(
        scan_async(
            targets,
            options=options,
            resolver=resolver,
            observer=observer,
            config=config,
            baseline=baseline,
            gate=gate,
        )
    )


async def run_plan(
    plan: ScanPlan,
    options: ScanOptions,
    *,
    resolver: Resolver | None,
    observer: ScanObserver | None,
    deadline: float | None,
) -> list[TargetResult]:
    """Every result (the plan's leading ones first), in plan order (see :func:`stream_plan`)."""
    return await collect(
        stream_plan(plan, options, resolver=resolver, observer=observer, deadline=deadline)
    )


async def stream_plan(
    plan: ScanPlan,
    options: ScanOptions,
    *,
    resolver: Resolver | None,
    observer: ScanObserver | None,
    deadline: float | None,
) -> AsyncIterator[tuple[int, TargetResult]]:
    """Scan every planned target and yield ``(position in the plan, result)`` as each ends
    (the plan's leading results first): one client, one canary, at most
    ``options.max_targets`` targets at a time, each within its own deadline (and the run's,
    ``deadline``, when there is one)."""
    canary = new_canary()
    credentials = tuple(options.headers.values())

    async def one(planned: PlannedTarget) -> TargetResult:
        if planned.idle:
            return TargetResult(target=planned.target.url, scanned=False, error=planned.idle)
        own = target_deadline(deadline, planned.options.target_timeout)
        return await _scan_target(planned, http, canary, own, observer, credentials)

    for index, result in enumerate(plan.leading):
        yield index - len(plan.leading), result
    if _sends_https(plan, options):
        prepare_verifying_context(options.ca_file)  # on another core while the scan starts
    async with HttpClient(options.client_settings(), resolver=resolver) as http:
        async for pair in stream(plan.targets, one, limit=options.max_targets):
            _gcpause.resume()  # the imports are done: collect as usual (see keywire._gcpause)
            yield pair


def _sends_https(plan: ScanPlan, options: ScanOptions) -> bool:
    """Whether the scan will send HTTPS requests: a target with an HTTPS side, and an HTTP
    family selected."""
    if not any(entry.group == "http" for entry in options.selected_entries()):
        return False
    return any(not planned.idle and planned.target.https_url for planned in plan.targets)


async def _scan_target(
    planned: PlannedTarget,
    http: HttpClient,
    canary: str,
    deadline: Deadline,
    observer: ScanObserver | None,
    credentials: tuple[str, ...],
) -> TargetResult:
    target = planned.target
    if observer is not None:
        observer.target_started(target.url)
    started = time.perf_counter()
    result = await _run_target(target, http, planned.options, canary, deadline)
    if planned.annotate is not None:
        result = planned.annotate(result)
    # A hostile server may echo the user's credential anywhere a check quotes it: hide it.
    result = scrub_result(result, credentials)
    result = dataclasses.replace(
        result,
        duration_s=round(time.perf_counter() - started, 3),
        score=compute_score(result.findings, RULES) if result.scanned else None,
    )
    if observer is not None:
        observer.target_finished(result)
    return result


async def _run_target(
    target: Target, http: HttpClient, options: ScanOptions, canary: str, deadline: Deadline
) -> TargetResult:
    if deadline.passed:
        return _not_started(target, f"{deadline.what} was reached before it started")
    entries = options.selected_entries()
    families = [entry.load() for entry in entries]
    # Everything this target's probes start (TLS probes, shared exchanges, name lookups) is
    # recorded here, and cancelled and awaited when the target ends: nothing outlives the
    # deadline (see keywire._tasks).
    scope = TaskScope()
    try:
        with scope:
            try:
                await asyncio.wait_for(http.resolver.resolve(target.host), deadline.remaining)
            except asyncio.TimeoutError:
                return _not_started(target, f"{deadline.what} was reached while resolving its name")
            except ResolutionError as exc:
                return TargetResult(target=target.url, scanned=False, error=str(exc))
            ctx = ProbeContext(
                target=target,
                http=http,
                settings=ScanSettings(
                    canary=canary,
                    has_credentials=bool(options.headers),
                    offline=options.offline,
                    vulnerability_probes=options.vulnerability_probes,
                ),
            )
            tasks = {entry.name: spawn(entry.load_probe()(ctx)) for entry in entries}
        if tasks:
            _done, pending = await asyncio.wait(tasks.values(), timeout=deadline.remaining)
            await cancel_and_wait(pending)
    finally:
        await scope.close()

    # The checks judge the observations as captured (bounded, secrets and the canary
    # scrubbed): what --save-observations writes and `keywire judge` reads back.
    captured = capture(
        families,
        {family.name: _probed(family, tasks[family.name], deadline.what) for family in families},
        Scrubber(canary=canary, credentials=tuple(options.headers.values())),
        endpoint=getattr(target, "endpoint", None),
    )
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    details: dict[str, object] = {}
    for family in families:
        outcome, found, detail = judge_family(family, captured.families[family.name], target.url)
        outcomes.append(outcome)
        findings.extend(found)
        if detail:
            details[family.name] = detail

    responses = [e for e in ctx.exchanges if isinstance(e, HttpResponse)]
    scanned = bool(responses) or ctx.reached
    error = ""
    if not scanned:
        failures = [e for e in ctx.exchanges if isinstance(e, FetchFailure)]
        primary = next((f for f in failures if f.url == target.url), None) or (
            failures[0] if failures else None
        )
        fallback = next(
            (o.reason for o in outcomes if o.status is OutcomeStatus.ERROR),
            f"no response within {deadline.what}",
        )
        error = primary.reason if primary is not None else fallback
        if primary is not None and primary.url != target.url:
            error = f"{redact_url(primary.url)}: {error}"
    details["exchanges"] = [_exchange_summary(e) for e in ctx.exchanges[:200]]
    return TargetResult(
        target=target.url,
        scanned=scanned,
        error=error,
        findings=tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.location))),
        outcomes=tuple(outcomes),
        details=details,
        observations=captured.data if options.save_observations is not None else None,
    )


def _not_started(target: Target, why: str) -> TargetResult:
    # No per-family outcomes: a target that was not scanned already makes the report
    # incomplete, and thousands of queued targets must be reported at once at the deadline.
    return TargetResult(target=target.url, scanned=False, error=why)


def _probed(family: Family[Any], task: asyncio.Future[Any], deadline: str) -> object:
    """A finished (or cancelled) probe's observation, or why there is none."""
    if task.cancelled() or not task.done():
        return ProbeFailed(f"not tested: {deadline} was reached")
    exc = task.exception()
    if exc is not None:
        log.debug("probe %s failed", family.name, exc_info=exc)
        return ProbeFailed(internal_error([f"{type(exc).__name__} in the probe"], kept=False))
    return task.result()


def _exchange_summary(fetched: HttpResponse | FetchFailure) -> dict[str, object]:
    if isinstance(fetched, FetchFailure):
        return {
            "probe": fetched.probe,
            "url": redact_url(fetched.url),
            "error": fetched.kind.value,
            "reason": fetched.reason,
        }
    summary: dict[str, object] = {
        "probe": fetched.probe,
        "url": redact_url(fetched.url),
        "status": fetched.status,
        "elapsed_ms": round(fetched.elapsed_s * 1000, 1),
    }
    if fetched.tls is not None:
        summary["tls"] = {
            "version": fetched.tls.version,
            "cipher": fetched.tls.cipher,
            "verified": fetched.tls.verified,
            **({"verify_error": fetched.tls.verify_error} if fetched.tls.verify_error else {}),
        }
    return summary
