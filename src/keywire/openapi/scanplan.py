"""Planning a spec-driven scan: load the spec, report what it declares, plan its endpoints.

Only the plan is made here (:class:`~keywire._plan.ScanPlan`: each endpoint with the options it
is scanned with, and the spec's own result); :func:`keywire.scan_async` runs it with the same
runner, limits and deadline as any URL, and finishes the report once.

The report has one entry for the spec itself (the static findings, KW901-KW907, and the list
of endpoints probed and operations skipped) followed by one entry per endpoint, each examined
by every selected check family exactly as a URL given on the command line would be. Rules deduct
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
from functools import partial

from .._models import Finding, TargetResult
from .._plan import PlannedTarget, ScanPlan
from ..net.http import ChainEnd, HttpClient
from ..net.resolver import Resolver
from ..redact import redact_url
from ..registry import GROUPS
from ..scanoptions import ScanOptions
from ..targets import Target, TargetError, parse_target
from .build import build_model
from .documents import MAX_DOCUMENT_BYTES
from .loader import SpecError, load_spec
from .model import ApiSpec
from .plan import EndpointTarget, Plan, plan_endpoints
from .results import annotate, spec_result
from .static import spec_findings

#: Check groups that look at a host, not a URL: run once per origin.
HOST_LEVEL_GROUPS = frozenset({"tls"})


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


async def load_model(
    source: str, *, options: ScanOptions, resolver: Resolver | None = None
) -> ApiSpec:
    """Load and model ``source``; a URL is fetched anonymously, bounded, never with credentials."""
    settings = dataclasses.replace(
        options.client_settings(), body_cap=MAX_DOCUMENT_BYTES + 1, credentials={}
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
    return spec_result(model.source, findings, summary, duration)


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


def _annotate(result: TargetResult, *, target: EndpointTarget) -> TargetResult:
    return annotate(result, target.endpoint)


async def plan_spec_scan(
    targets: Sequence[str | Target],
    options: ScanOptions,
    *,
    resolver: Resolver | None = None,
    deadline: float,
) -> ScanPlan:
    """Load ``options.spec`` (within ``deadline``), report what it declares and plan its
    endpoints; :func:`keywire.scan_async` runs the plan like any other."""
    assert options.spec is not None
    started = time.perf_counter()
    bases = [(t if isinstance(t, Target) else parse_target(t)).url.split("?")[0] for t in targets]
    try:
        model = await asyncio.wait_for(
            load_model(options.spec, options=options, resolver=resolver),
            max(0.0, deadline - started),
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
    run_spec_checks = any(e.name == "openapi" for e in options.selected_entries())
    static = spec_findings(model) if run_spec_checks else []
    result = _spec_result(model, plan, static, time.perf_counter() - started)

    host_level = sorted(HOST_LEVEL_GROUPS & GROUPS)
    allowed = credential_origins(
        bases, spec_url, plan, http_port=options.http_port, https_port=options.https_port
    )
    withheld: set[str] = set()
    seen_origins: set[tuple[str, str, int]] = set()
    planned: list[PlannedTarget] = []
    covered: list[str] = []
    for target in plan.targets:
        origin = (target.scheme, target.host, target.port)
        target_options = options
        if origin in seen_origins and host_level:
            target_options = dataclasses.replace(target_options, skip=(*options.skip, *host_level))
            if not target_options.selected_entries():
                # Only host-level checks are selected: they ran on this origin's first endpoint.
                covered.append(redact_url(target.url))
                continue
        if options.headers and target.credentials_origin not in allowed:
            withheld.add(target.credentials_origin or target.origin)
            target_options = dataclasses.replace(target_options, headers={})
        seen_origins.add(origin)
        planned.append(
            PlannedTarget(
                target=target, options=target_options, annotate=partial(_annotate, target=target)
            )
        )
    detail = result.details["openapi"]
    assert isinstance(detail, dict)
    if withheld:
        detail["credentials_withheld_from"] = sorted(withheld)
    if covered:
        detail["covered_by_their_origin"] = covered
    if options.save_observations is not None:  # the spec's facts, for `keywire judge`
        from ..observations.capture import capture_spec

        kept = capture_spec(model, detail, run_checks=run_spec_checks, headers=options.headers)
        result = dataclasses.replace(result, observations=kept)
    return ScanPlan(targets=tuple(planned), leading=(result,))
