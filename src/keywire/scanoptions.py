"""Everything a scan can be told: :class:`ScanOptions`, filled from the option table.

The defaults of the fields the command line sets are the table's (:mod:`keywire.options`), so
``keywire scan`` with no option and ``keywire.scan()`` with no options scan alike.

>>> ScanOptions().timeout
10.0
>>> scan_options({"timeout": 5.0, "per_host": 2}).per_host
2
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._dataclass import dataclass
from .credentials import check_credential_headers
from .options import GROUP_ALIASES, OPENAPI_GROUP, OPTION, OPTIONS, selectable
from .redact import credential_parameters, redact, redact_url

if TYPE_CHECKING:
    from .checks._base import Family
    from .net.http import ClientSettings
    from .registry import FamilyEntry


def _default(name: str) -> Any:
    return OPTION[name].default


@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """Everything a scan can be told. The defaults are the polite, observe-only ones."""

    timeout: float = _default("timeout")
    #: Seconds for the whole scan (None: no limit; each target has ``target_timeout``).
    scan_timeout: float | None = _default("scan-timeout")
    #: Seconds for each target, from when it starts.
    target_timeout: float = _default("target-timeout")
    body_cap: int = 1024 * 1024
    #: Connections at once per server (resolved address and port).
    per_host: int = _default("per-host")
    #: Connections at once in the whole scan.
    max_connections: int = _default("max-connections")
    #: Targets scanned at once.
    max_targets: int = _default("max-targets")
    #: Retries of a request whose connection failed before any answer.
    retries: int = _default("retries")
    #: ``HOST:PORT:ADDRESS`` pins (``--resolve``, see :mod:`keywire.net.pins`).
    resolve: Collection[str] = ()
    max_hops: int = 10
    ca_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    http_port: int | None = None
    https_port: int | None = None
    only: Collection[str] = ()
    skip: Collection[str] = ()
    #: An OpenAPI 3.x / Swagger 2.0 description (path or URL) to drive the scan: see
    #: keywire.openapi.
    spec: str | None = None
    #: At most this many endpoints of the spec are probed.
    max_endpoints: int = _default("max-endpoints")
    #: Send nothing beyond the scanned hosts: no OCSP responder, no CRL (``--offline``).
    offline: bool = _default("offline")
    #: Write the captured observations here when the scan ends (``--save-observations``; see
    #: :mod:`keywire.observations`), and keep them in each result's ``observations`` meanwhile.
    save_observations: str | None = None
    #: Send the TLS vulnerability probes (Heartbleed, CCS injection, ROBOT); see
    #: docs/vulnerability-probes.md. False records them as skipped.
    vulnerability_probes: bool = _default("vulnerability-probes")

    def __post_init__(self) -> None:
        known = set(selectable())
        unknown = (set(self.only) | set(self.skip)) - known
        if unknown:
            raise ValueError(
                f"unknown check selection {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(sorted(known))}"
            )
        if self.timeout <= 0 or self.target_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.scan_timeout is not None and self.scan_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.per_host < 1:
            raise ValueError("per-host connections must be at least 1")
        if self.max_connections < 1 or self.max_targets < 1:
            raise ValueError("--max-connections and --max-targets must be at least 1")
        if self.retries < 0:
            raise ValueError("--retries cannot be negative")
        if self.resolve:
            from .net.pins import parse_pins

            parse_pins(self.resolve)  # a PinError is a ValueError: a usage error
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
        check_credential_headers(self.headers)

    def selected(self) -> tuple[Family[Any], ...]:
        """The check families this scan runs, in report order (only their modules are imported)."""
        return tuple(entry.load() for entry in self.selected_entries())

    def selected_entries(self) -> tuple[FamilyEntry, ...]:
        """The registry lines of :meth:`selected`, known without importing any family."""
        from .registry import select

        only = {GROUP_ALIASES.get(name, name) for name in self.only}
        skip = {GROUP_ALIASES.get(name, name) for name in self.skip}
        # The openapi checks compare answers with a spec: nothing to do without one.
        excluded = (OPENAPI_GROUP,) if self.spec is None else ()
        return select(only, skip, exclude_groups=excluded)

    def client_settings(self) -> ClientSettings:
        """The HTTP client's settings for this scan (the user's headers as its credentials)."""
        from .net.http import ClientSettings

        return ClientSettings(
            timeout=self.timeout,
            body_cap=self.body_cap,
            per_host=self.per_host,
            max_connections=self.max_connections,
            retries=self.retries,
            max_hops=self.max_hops,
            ca_file=self.ca_file,
            credentials=dict(self.headers),
        )

    def public(self) -> dict[str, object]:
        """The options as they may appear in a report: header values redacted."""
        return {
            "timeout": self.timeout,
            "scan_timeout": self.scan_timeout,
            "target_timeout": self.target_timeout,
            "body_cap": self.body_cap,
            "per_host": self.per_host,
            "max_connections": self.max_connections,
            "max_targets": self.max_targets,
            "retries": self.retries,
            "resolve": sorted(self.resolve),
            "max_hops": self.max_hops,
            "ca_file": bool(self.ca_file),
            "headers": {k: str(redact(v)) for k, v in self.headers.items()},
            "http_port": self.http_port,
            "https_port": self.https_port,
            "only": sorted(self.only),
            "skip": sorted(self.skip),
            "offline": self.offline,
            "vulnerability_probes": self.vulnerability_probes,
            **(
                {"spec": redact_url(self.spec), "max_endpoints": self.max_endpoints}
                if self.spec is not None
                else {}
            ),
        }


def scan_options(values: Mapping[str, Any], **fields: Any) -> ScanOptions:
    """:class:`ScanOptions` from option values by parameter name (what commands receive), the
    table saying which value fills which field; ``fields`` add or replace fields."""
    from_table = {
        o.scan_field: values[o.param] for o in OPTIONS if o.scan_field and o.param in values
    }
    return ScanOptions(**{**from_table, **fields})
