"""A spec-driven scan: load the spec, report what it declares, then probe its endpoints.

The report has one entry for the spec itself (the static findings, KW901-KW907, and the list of
endpoints probed and operations skipped) followed by one entry per endpoint, each examined by
every selected check family exactly as a URL given on the command line would be. Rules deduct
once per scan however many endpoints share a weakness (docs/scoring.md), so the score stays a
score of the API, not of its number of routes.

Families that examine a host rather than a URL (the ``tls`` group) run on the first endpoint of
each origin only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING

from .._models import CheckOutcome, Finding, OutcomeStatus, ScanReport, TargetResult
from .._version import __version__
from ..checks import GROUPS
from ..checks._base import new_canary
from ..net.http import ChainEnd, ClientSettings, HttpClient
from ..net.resolver import Resolver
from ..redact import redact_url
from ..rules import RULES
from ..scoring import compute_score
from ..targets import Target, TargetError, parse_target
from .loader import MAX_DOCUMENT_BYTES, SpecError, load_spec
from .model import ApiSpec, build_model
from .plan import EndpointTarget, Plan, plan_endpoints
from .static import spec_findings

if TYPE_CHECKING:
    from .._scanner import ScanObserver, ScanOptions

#: Check groups that look at a host, not a URL: run once per origin.
HOST_LEVEL_GROUPS = frozenset({"tls"})
SPEC_CHECK = "openapi-spec"


async def fetch_document(http: HttpClient, url: str) -> tuple[bytes, str, str]:
    """Fetch one spec document through keywire's bounded client (same-host redirects only)."""
    shown = redact_url(url)
    chain = await http.follow(url, probe="spec")
    if chain.failure is not None:
        raise SpecError(shown, None, f"cannot fetch: {chain.failure.reason}")
    last = chain.last
    assert last is not None
    if chain.end is not ChainEnd.FINAL:
        where = f" to {redact_url(chain.next_url)}" if chain.next_url else ""
        raise SpecError(shown, None, f"redirect{where} not followed ({chain.end.value})")
    if last.status != 200:
        raise SpecError(shown, None, f"HTTP {last.status} {last.reason}".rstrip())
    if last.body_truncated:
        raise SpecError(shown, None, f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    return last.body, last.header("content-type") or "", last.url


def _client_settings(options: ScanOptions) -> ClientSettings:
    return ClientSettings(
        timeout=options.timeout,
        body_cap=options.body_cap,
        per_host=options.per_host,
        max_hops=options.max_hops,
        ca_file=options.ca_file,
        credentials=dict(options.headers),
    )


async def load_model(
    source: str, *, options: ScanOptions, resolver: Resolver | None = None
) -> ApiSpec:
    """Load and model ``source``; a URL is fetched anonymously, bounded, never with credentials."""
    settings = dataclasses.replace(
        _client_settings(options), body_cap=MAX_DOCUMENT_BYTES + 1, credentials={}
    )
    async with HttpClient(settings, resolver=resolver) as http:
        spec_set = await load_spec(source, fetch=partial(fetch_document, http))
    return build_model(spec_set, source_url=spec_set.root.uri if spec_set.root.is_url else None)


def _spec_result(
    model: ApiSpec, plan: Plan, findings: list[Finding], duration: float
) -> TargetResult:
    summary = {
        "source": model.source,
        "version": model.version,
        "title": model.title,
        "servers": [{"url": redact_url(s.url), "spec": s.location} for s in model.servers],
        "security_schemes": [
            {"name": s.name, "type": s.type, "spec": s.location} for s in model.security_schemes
        ],
        "operations": len(model.operations),
        "endpoints": [
            {"operation": t.endpoint.operation, "url": redact_url(t.url)} for t in plan.targets
        ],
        "skipped": [
            {"operation": s.operation, "reason": s.reason, "spec": s.location} for s in plan.skipped
        ],
        "skipped_total": plan.skipped_total,
    }
    return TargetResult(
        target=model.source,
        scanned=True,
        findings=tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.location))),
        outcomes=(
            CheckOutcome(check=SPEC_CHECK, target=model.source, status=OutcomeStatus.COMPLETED),
        ),
        details={"openapi": summary},
        duration_s=round(duration, 3),
        score=compute_score(findings, RULES),
    )


def credential_origins(
    bases: Sequence[str],
    spec_url: str | None,
    plan: Plan,
    *,
    http_port: int | None = None,
    https_port: int | None = None,
) -> frozenset[str]:
    """Origins (``https://host:port``) the user's credentials may be sent to in a spec scan.

    The user names them: the HTTPS origins of the TARGETS given, else that of the URL the spec
    was fetched from (its own origin, or the HTTPS side a default port or ``--https-port``
    implies), else (a local spec file, which the user chose) those of its servers. A spec
    fetched from one origin that lists servers elsewhere, another port of the same host
    included, cannot draw the credentials there: those endpoints are scanned anonymously.
    """
    named = list(bases) or ([spec_url] if spec_url is not None else [])
    if not named:
        return frozenset(t.credentials_origin for t in plan.targets if t.credentials_origin)
    origins = set()
    for url in named:
        try:
            parsed = parse_target(url, http_port=http_port, https_port=https_port)
        except TargetError:
            continue
        if parsed.credentials_origin is not None:
            origins.add(parsed.credentials_origin)
    return frozenset(origins)


def _annotate(result: TargetResult, target: EndpointTarget) -> TargetResult:
    """Tie the core's findings to the spec: KW101 contradicts an https-only declaration."""
    endpoint = target.endpoint
    findings: dict[str, Finding] = {}
    for finding in result.findings:
        if finding.rule_id == "KW101" and endpoint.declared_schemes == ("https",):
            finding = dataclasses.replace(
                finding,
                message=f"{finding.message} The spec declares HTTPS only.",
                evidence=(*finding.evidence, ("spec", endpoint.server_location)),
            )
        findings.setdefault(finding.fingerprint, finding)  # one finding per rule and location
    return dataclasses.replace(result, findings=tuple(findings.values()))


async def scan_spec_async(
    targets: Sequence[str | Target],
    *,
    options: ScanOptions,
    resolver: Resolver | None = None,
    observer: ScanObserver | None = None,
) -> ScanReport:
    """The spec-driven scan behind :func:`keywire.scan_async` when ``options.spec`` is set."""
    from .._scanner import _scan_target

    assert options.spec is not None
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    deadline = started + options.scan_timeout
    bases = [(t if isinstance(t, Target) else parse_target(t)).url.split("?")[0] for t in targets]
    try:
        model = await asyncio.wait_for(
            load_model(options.spec, options=options, resolver=resolver), options.scan_timeout
        )
    except asyncio.TimeoutError:
        raise SpecError(
            redact_url(options.spec), None, "not loaded within the scan deadline"
        ) from None
    spec_url = options.spec if options.spec.startswith(("http://", "https://")) else None
    plan = plan_endpoints(
        model,
        base_urls=bases,
        spec_url=spec_url,
        max_endpoints=options.max_endpoints,
        http_port=options.http_port,
        https_port=options.https_port,
    )
    run_spec_checks = any(f.name == "openapi" for f in options.selected())
    static = spec_findings(model) if run_spec_checks else []
    spec_result = _spec_result(model, plan, static, time.perf_counter() - started)

    host_level = sorted(HOST_LEVEL_GROUPS & GROUPS)
    allowed = credential_origins(
        bases, spec_url, plan, http_port=options.http_port, https_port=options.https_port
    )
    withheld: set[str] = set()
    seen_origins: set[tuple[str, str, int]] = set()
    per_target: list[tuple[EndpointTarget, ScanOptions]] = []
    for target in plan.targets:
        origin = (target.scheme, target.host, target.port)
        target_options = options
        if origin in seen_origins and host_level:
            target_options = dataclasses.replace(target_options, skip=(*options.skip, *host_level))
        if options.headers and target.credentials_origin not in allowed:
            withheld.add(target.credentials_origin or target.origin)
            target_options = dataclasses.replace(target_options, headers={})
        seen_origins.add(origin)
        per_target.append((target, target_options))
    if withheld:
        detail = spec_result.details["openapi"]
        assert isinstance(detail, dict)
        detail["credentials_withheld_from"] = sorted(withheld)

    canary = new_canary()
    async with HttpClient(_client_settings(options), resolver=resolver) as http:
        results = await asyncio.gather(
            *(
                _scan_target(target, http, target_options, canary, deadline, observer)
                for target, target_options in per_target
            )
        )
    annotated = [_annotate(r, t) for r, (t, _) in zip(results, per_target, strict=True)]
    annotated = [
        dataclasses.replace(r, score=compute_score(r.findings, RULES)) if r.scanned else r
        for r in annotated
    ]
    everything = [spec_result, *annotated]
    findings = [f for r in everything for f in r.findings]
    return ScanReport(
        tool_version=__version__,
        started_at=started_at,
        duration_s=round(time.perf_counter() - started, 3),
        targets=tuple(everything),
        score=compute_score(findings, RULES),
        options=options.public(),
    )
