"""The scan pipeline: targets → probes (async network work) → checks (pure) → score → report.

Every selected family's probe runs concurrently for a target; per-host slots in the HTTP client
keep the connection count polite. A probe or check that fails for any reason becomes a
:class:`~keywire.CheckOutcome` with a reason, never a crash; a family still running at the scan
deadline is recorded as not tested.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from ._models import CheckOutcome, Finding, OutcomeStatus, ScanReport, TargetResult
from ._tasks import TaskScope, cancel_and_wait, spawn
from ._version import __version__
from .checks import FAMILIES, GROUPS, Family
from .checks._base import CheckNotRun, ProbeContext, ScanSettings, internal_error, new_canary
from .net.headers import check_credential_header
from .net.http import ClientSettings, FetchFailure, HttpClient, HttpResponse
from .net.resolver import ResolutionError, Resolver
from .redact import credential_parameters, redact, redact_url, scrub_result
from .rules import RULES
from .scoring import compute_score
from .targets import Target, TargetError, parse_target

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("keywire")

#: Targets scanned at the same time (each also respects the per-host connection cap).
MAX_TARGETS_IN_FLIGHT = 16

#: Headers a user may pass as credentials; anything else is refused (issue: allowlist).
CREDENTIAL_HEADER_ALLOWLIST = ("authorization", "x-api-key", "cookie", "proxy-authorization")
#: The check group that only runs on spec-driven scans.
SPEC_GROUP = "spec"


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """Everything a scan can be told. The defaults are the polite, observe-only ones."""

    timeout: float = 10.0
    scan_timeout: float = 300.0
    body_cap: int = 1024 * 1024
    per_host: int = 5
    max_hops: int = 10
    ca_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    http_port: int | None = None
    https_port: int | None = None
    only: Collection[str] = ()
    skip: Collection[str] = ()
    #: An OpenAPI 3.x / Swagger 2.0 description (path or URL) to drive the scan: see keywire.spec.
    spec: str | None = None
    #: At most this many endpoints of the spec are probed.
    max_endpoints: int = 50
    #: Send the TLS vulnerability probes (Heartbleed, CCS injection, ROBOT); see
    #: docs/vulnerability-probes.md. False records them as skipped.
    vulnerability_probes: bool = True

    def __post_init__(self) -> None:
        unknown = (set(self.only) | set(self.skip)) - GROUPS - {f.name for f in FAMILIES}
        if unknown:
            raise ValueError(
                f"unknown check selection {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(sorted(GROUPS | {f.name for f in FAMILIES}))}"
            )
        if self.timeout <= 0 or self.scan_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.per_host < 1:
            raise ValueError("per-host connections must be at least 1")
        if self.max_endpoints < 1:
            raise ValueError("--max-endpoints must be at least 1")
        if self.spec is not None and "://" in self.spec:
            in_query = credential_parameters(urlsplit(self.spec).query)
            if in_query:
                raise ValueError(
                    f"--spec {redact_url(self.spec)}: a credential in the query string "
                    f"({', '.join(in_query)}) is refused; keywire fetches the description "
                    "anonymously, give it a URL that needs no credential or a local file"
                )
        for name, value in self.headers.items():
            check_credential_header(name, value)  # never quotes the value
            lowered = name.lower()
            if lowered not in CREDENTIAL_HEADER_ALLOWLIST and not lowered.startswith("x-"):
                raise ValueError(
                    f"header {name!r} is not sent: only Authorization, Cookie and X-* headers are allowed"
                )

    def selected(self) -> tuple[Family[Any], ...]:
        chosen = []
        for family in FAMILIES:
            keys = {family.name, family.group}
            if self.only and not keys & set(self.only):
                continue
            if keys & set(self.skip):
                continue
            if family.group == SPEC_GROUP and self.spec is None:
                continue  # compares answers with a spec: nothing to do without one
            chosen.append(family)
        return tuple(chosen)

    def public(self) -> dict[str, object]:
        """The options as they may appear in a report: header values redacted."""
        return {
            "timeout": self.timeout,
            "scan_timeout": self.scan_timeout,
            "body_cap": self.body_cap,
            "per_host": self.per_host,
            "max_hops": self.max_hops,
            "ca_file": bool(self.ca_file),
            "headers": {k: str(redact(v)) for k, v in self.headers.items()},
            "http_port": self.http_port,
            "https_port": self.https_port,
            "only": sorted(self.only),
            "skip": sorted(self.skip),
            "vulnerability_probes": self.vulnerability_probes,
            **(
                {"spec": redact_url(self.spec), "max_endpoints": self.max_endpoints}
                if self.spec is not None
                else {}
            ),
        }


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
) -> ScanReport:
    """Scan ``targets`` (http:// or https:// URLs) and return the report.

    With ``config`` (see :func:`keywire.load_config`), its skipped rules, severity overrides and
    suppressions are applied to the report, and its options are used when ``options`` is None.
    Raises :class:`~keywire.TargetError` before any network traffic if a target is malformed.
    With ``options.spec``, the spec's GET/HEAD endpoints are scanned (``targets``, if any, are
    base URLs that replace the spec's servers); a spec that cannot be used raises
    :class:`~keywire.spec.SpecError`.
    """
    if options is None and config is not None:
        options = config.scan_options()
    options = options or ScanOptions()
    if options.spec is not None:
        from .spec.scan import scan_spec_async

        return await scan_spec_async(targets, options=options, resolver=resolver, observer=observer)
    if not targets:
        raise TargetError("no target given")
    parsed = [
        t
        if isinstance(t, Target)
        else parse_target(t, http_port=options.http_port, https_port=options.https_port)
        for t in targets
    ]
    idle = _nothing_applies(options, parsed)
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    deadline = started + options.scan_timeout
    settings = ClientSettings(
        timeout=options.timeout,
        body_cap=options.body_cap,
        per_host=options.per_host,
        max_hops=options.max_hops,
        ca_file=options.ca_file,
        credentials=dict(options.headers),
    )
    canary = new_canary()
    in_flight = asyncio.Semaphore(MAX_TARGETS_IN_FLIGHT)

    async def one(target: Target) -> TargetResult:
        if target.url in idle:
            return TargetResult(target=target.url, scanned=False, error=idle[target.url])
        async with in_flight:
            return await _scan_target(target, http, options, canary, deadline, observer)

    async with HttpClient(settings, resolver=resolver) as http:
        results = await asyncio.gather(*(one(target) for target in _unique(parsed)))
    findings = [f for r in results for f in r.findings]
    score = compute_score(findings, RULES) if any(r.scanned for r in results) else None
    report = ScanReport(
        tool_version=__version__,
        started_at=started_at,
        duration_s=round(time.perf_counter() - started, 3),
        targets=tuple(results),
        score=score,
        options=options.public(),
    )
    if config is not None:
        from .policy import apply_policy

        report = apply_policy(report, config.policy)
    return report


def scan(
    targets: Sequence[str | Target] | str,
    *,
    options: ScanOptions | None = None,
    resolver: Resolver | None = None,
    observer: ScanObserver | None = None,
    config: Config | None = None,
) -> ScanReport:
    """Scan synchronously; see :func:`scan_async`.

    >>> report = scan("http://127.0.0.1:9/")  # doctest: +SKIP
    >>> report.score.grade  # doctest: +SKIP
    'F'
    """
    if isinstance(targets, str):
        targets = [targets]
    return asyncio.run(
        scan_async(targets, options=options, resolver=resolver, observer=observer, config=config)
    )


def _nothing_applies(options: ScanOptions, targets: Sequence[Target]) -> dict[str, str]:
    """Targets on which no selected family has anything to do, with why (known before traffic).

    Raises :class:`TargetError` (a usage error) when that is every target, or when the selection
    is empty: such a scan could only end in "nothing scanned".
    """
    families = options.selected()
    if not families:
        hint = " (the spec checks need --spec)" if SPEC_GROUP in options.only else ""
        raise TargetError(f"no check is selected: --only/--skip leave nothing to run{hint}")
    idle: dict[str, str] = {}
    for target in targets:
        reasons = [f.inapplicable(target) if f.inapplicable else None for f in families]
        if all(reasons):
            idle[target.url] = "no selected check applies: " + "; ".join(
                sorted({r for r in reasons if r})
            )
    if targets and len(idle) == len({t.url for t in targets}):
        url, why = next(iter(idle.items()))
        raise TargetError(f"{redact_url(url)}: {why}")
    return idle


def _unique(targets: list[Target]) -> list[Target]:
    seen: dict[str, Target] = {}
    for target in targets:
        seen.setdefault(target.url, target)
    return list(seen.values())


async def _scan_target(
    target: Target,
    http: HttpClient,
    options: ScanOptions,
    canary: str,
    deadline: float,
    observer: ScanObserver | None,
) -> TargetResult:
    if observer is not None:
        observer.target_started(target.url)
    started = time.perf_counter()
    result = await _run_target(target, http, options, canary, deadline)
    # A hostile server may echo the user's credential anywhere a check quotes it: hide it.
    result = scrub_result(result, tuple(options.headers.values()))
    result = dataclasses.replace(
        result,
        duration_s=round(time.perf_counter() - started, 3),
        score=compute_score(result.findings, RULES) if result.scanned else None,
    )
    if observer is not None:
        observer.target_finished(result)
    return result


async def _run_target(
    target: Target, http: HttpClient, options: ScanOptions, canary: str, deadline: float
) -> TargetResult:
    if time.perf_counter() >= deadline:
        return _not_started(target, "the scan deadline was reached before it started")
    families = options.selected()
    # Everything this target's probes start (TLS probes, shared exchanges, name lookups) is
    # recorded here, and cancelled and awaited when the target ends: nothing outlives the
    # deadline (see keywire._tasks).
    scope = TaskScope()
    try:
        with scope:
            try:
                await asyncio.wait_for(
                    http.resolver.resolve(target.host), max(0.0, deadline - time.perf_counter())
                )
            except asyncio.TimeoutError:
                return _not_started(
                    target, "the scan deadline was reached while resolving its name"
                )
            except ResolutionError as exc:
                return TargetResult(target=target.url, scanned=False, error=str(exc))
            ctx = ProbeContext(
                target=target,
                http=http,
                settings=ScanSettings(
                    canary=canary,
                    has_credentials=bool(options.headers),
                    vulnerability_probes=options.vulnerability_probes,
                ),
            )
            tasks = {family.name: spawn(family.probe(ctx)) for family in families}
        remaining = max(0.0, deadline - time.perf_counter())
        if tasks:
            _done, pending = await asyncio.wait(tasks.values(), timeout=remaining)
            await cancel_and_wait(pending)
    finally:
        await scope.close()

    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    details: dict[str, object] = {}
    for family in families:
        task = tasks[family.name]
        outcome, found, detail = _verdict(family, task, target.url)
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
            "no response within the scan deadline",
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
    )


def _not_started(target: Target, why: str) -> TargetResult:
    # No per-family outcomes: a target that was not scanned already makes the report
    # incomplete, and thousands of queued targets must be reported at once at the deadline.
    return TargetResult(target=target.url, scanned=False, error=why)


def _verdict(
    family: Family[Any], task: asyncio.Future[Any], target: str
) -> tuple[CheckOutcome, list[Finding], Mapping[str, object] | None]:
    """The outcome, findings and details of one family's finished (or cancelled) probe.

    A failure inside a family never removes what it had already established: a check that
    yields its findings keeps those yielded before it failed, and the internal errors a probe
    isolated (``observation.internal_errors``, see :class:`~keywire.checks._base.Isolation`)
    keep the findings of everything else it examined. Either way the family is "not tested"
    with the reason, so the report says it is incomplete.
    """

    def outcome(status: OutcomeStatus, reason: str = "") -> CheckOutcome:
        return CheckOutcome(check=family.name, target=target, status=status, reason=reason[:300])

    if task.cancelled() or not task.done():
        return outcome(OutcomeStatus.ERROR, "not tested: the scan deadline was reached"), [], None
    exc = task.exception()
    if exc is not None:
        log.debug("probe %s failed", family.name, exc_info=exc)
        reason = internal_error([f"{type(exc).__name__} in the probe"], kept=False)
        return outcome(OutcomeStatus.ERROR, reason), [], None
    observation = task.result()
    problems = [str(p) for p in getattr(observation, "internal_errors", ())]
    detail: Mapping[str, object] | None = None
    if family.details is not None:
        try:
            detail = family.details(observation)
        except Exception as exc:  # the details are a courtesy; the findings still count
            log.debug("details of %s failed", family.name, exc_info=exc)
            problems.append(f"{type(exc).__name__} in the details")
    found: list[Finding] = []
    status, reason = OutcomeStatus.COMPLETED, ""
    try:
        for finding in family.check(observation):
            found.append(finding)
    except CheckNotRun as stop:
        yielded = {f.fingerprint for f in found}
        found.extend(f for f in stop.findings if f.fingerprint not in yielded)
        status, reason = stop.status, stop.reason
    except Exception as exc:  # a broken check must not take the scan (or its findings) down
        log.debug("check %s failed", family.name, exc_info=exc)
        problems.insert(0, f"{type(exc).__name__} in the check")
    if problems:
        status, reason = OutcomeStatus.ERROR, internal_error(problems, kept=bool(found))
    return outcome(status, reason), found, detail


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
