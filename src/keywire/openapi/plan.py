"""From a spec to the endpoints keywire probes: GET/HEAD operations with their parameters filled.

keywire only observes, so only GET and HEAD operations are probed. A path parameter is filled from
the spec's example, examples, default or first enum value; an operation whose path cannot be filled
is listed as skipped with the reason, and so is every operation over ``max_endpoints``.

Each endpoint becomes an :class:`EndpointTarget`: a normal :class:`~keywire.targets.Target` (so
every check family runs on it unchanged) that also carries what the spec declared about it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from urllib.parse import quote, urlencode, urljoin

from .._dataclass import dataclass
from ..redact import is_credential_parameter
from ..targets import Target, TargetError, parse_target
from .model import ApiSpec, Operation, Server

PROBED_METHODS = ("get", "head")
_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")
MAX_SKIPPED_LISTED = 500


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """What the spec says about one probed URL."""

    operation: str  # "GET /pets/{petId}"
    operation_id: str
    spec_location: str
    declared_schemes: tuple[str, ...]  # schemes of the servers the spec declares for it
    server_location: str
    requires_credentials: bool
    security: tuple[tuple[str, ...], ...]
    security_location: str
    query_keys: tuple[tuple[str, str], ...]  # (scheme name, parameter) of apiKey-in-query schemes


@dataclass(frozen=True, kw_only=True)
class EndpointTarget(Target):
    """A scan target that came from a spec; the spec's declarations travel with it."""

    endpoint: Endpoint


@dataclass(frozen=True, kw_only=True)
class Skipped:
    operation: str
    location: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    targets: tuple[EndpointTarget, ...]
    skipped: tuple[Skipped, ...]
    skipped_total: int


def fill_path(operation: Operation) -> tuple[str | None, str]:
    """The path with its parameters filled, or (None, why not)."""
    values = {p.name: p.value for p in operation.parameters if p.where == "path"}
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if value is None or value == "":
            missing.append(name)
            return match.group(0)
        return quote(value, safe="")

    filled = _PLACEHOLDER.sub(replace, operation.path)
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        return None, f"path parameter {names} has no example, default or enum value"
    return filled, ""


def _query(operation: Operation) -> str:
    # A credential parameter (``api_key``…) is never filled from the spec's example: keywire
    # sends no credential in a URL (see targets.py); KW120/KW902 look at query keys instead.
    pairs = [
        (p.name, p.value)
        for p in operation.parameters
        if p.where == "query"
        and p.required
        and p.value is not None
        and not is_credential_parameter(p.name)
    ]
    return urlencode(pairs)


def _bases(
    operation: Operation, overrides: Sequence[str], spec_url: str | None
) -> tuple[list[str], str]:
    """Base URLs to probe the operation on, or ([], why none)."""
    if overrides:
        return list(overrides), ""
    bases: list[str] = []
    relative: list[Server] = []
    for server in operation.servers:
        url = server.url
        if url.startswith("//"):
            url = ("https:" if spec_url is None else spec_url.split("//")[0]) + url
        if "://" not in url:
            if spec_url is None:
                relative.append(server)
                continue
            url = urljoin(spec_url, url)
        bases.append(url)
    if not bases:
        if relative:
            return [], (
                f"the server URL {relative[0].url!r} is relative: give the API's base URL as a "
                "target"
            )
        return [], "the spec declares no server: give the API's base URL as a target"
    return bases, ""


def plan_endpoints(
    spec: ApiSpec,
    *,
    base_urls: Sequence[str] = (),
    spec_url: str | None = None,
    max_endpoints: int = 50,
    http_port: int | None = None,
    https_port: int | None = None,
) -> Plan:
    """Turn the spec's GET/HEAD operations into at most ``max_endpoints`` targets."""
    targets: dict[str, EndpointTarget] = {}
    skipped: list[Skipped] = []
    over_limit = 0
    for operation in spec.operations:
        if operation.method not in PROBED_METHODS:
            skipped.append(
                Skipped(
                    operation=operation.label,
                    location=operation.location,
                    reason=f"{operation.method.upper()} is not sent (keywire only observes)",
                )
            )
            continue
        path, why = fill_path(operation)
        bases, why_no_base = _bases(operation, base_urls, spec_url)
        if path is None or not bases:
            skipped.append(
                Skipped(
                    operation=operation.label,
                    location=operation.location,
                    reason=why or why_no_base,
                )
            )
            continue
        query = _query(operation)
        endpoint = _endpoint(spec, operation)
        for base in bases:
            url = base.rstrip("/") + path + (f"?{query}" if query else "")
            try:
                parsed = parse_target(url, http_port=http_port, https_port=https_port)
            except TargetError as exc:
                skipped.append(
                    Skipped(operation=operation.label, location=operation.location, reason=str(exc))
                )
                continue
            if parsed.url in targets:
                continue
            if len(targets) >= max_endpoints:
                over_limit += 1
                continue
            fields = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(Target)}
            targets[parsed.url] = EndpointTarget(**fields, endpoint=endpoint)
    if over_limit:
        skipped.append(
            Skipped(
                operation=f"{over_limit} more endpoint(s)",
                location=spec.source,
                reason=f"over --max-endpoints ({max_endpoints})",
            )
        )
    kept = _prefer_https(list(targets.values()))
    return Plan(
        targets=tuple(kept),
        skipped=tuple(skipped[:MAX_SKIPPED_LISTED]),
        skipped_total=len(skipped),
    )


def _prefer_https(targets: list[EndpointTarget]) -> list[EndpointTarget]:
    """Drop an http:// target already covered as the cleartext side of an https:// one."""
    covered = {t.http_url for t in targets if t.scheme == "https" and t.http_url}
    return [t for t in targets if not (t.scheme == "http" and t.url in covered)]


def _endpoint(spec: ApiSpec, operation: Operation) -> Endpoint:
    schemes = sorted({s.scheme for s in operation.servers if s.scheme})
    query_keys = []
    for requirement in operation.security:
        for name in requirement:
            scheme = spec.scheme(name)
            if scheme is not None and scheme.type == "apiKey" and scheme.key_in == "query":
                query_keys.append((name, scheme.key_name))
    server_location = next((s.location for s in operation.servers), "")
    return Endpoint(
        operation=operation.label,
        operation_id=operation.operation_id,
        spec_location=operation.location,
        declared_schemes=tuple(schemes),
        server_location=server_location,
        requires_credentials=operation.requires_credentials,
        security=operation.security,
        security_location=operation.security_location,
        query_keys=tuple(dict.fromkeys(query_keys)),
    )
