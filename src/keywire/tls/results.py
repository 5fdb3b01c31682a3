"""The facts a TLS scan establishes about one endpoint: frozen values, no verdicts.

Every probe records whether it completed. ``None`` in a fact means *not tested*, never *no*:
the checks turn only completed probes into findings or passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._constants import Version


@dataclass(frozen=True, kw_only=True)
class ProbeStatus:
    """Whether one probe of the scan ran to the end, and if not, why."""

    name: str
    completed: bool
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AcceptedSuite:
    """A suite the server chose, with what its ServerKeyExchange showed."""

    code: int
    dh_bits: int = 0
    group: int | None = None
    rsa_export_bits: int = 0


@dataclass(frozen=True, kw_only=True)
class ProtocolResult:
    """One protocol version: offered or not (None: not tested), and its accepted suites.

    ``suites`` is in the server's order of preference when ``server_preference`` is True, else in
    keywire's order (strongest first). ``suites_complete`` is False when the enumeration was cut
    short: the suites listed were accepted, others may be too.
    """

    version: int
    offered: bool | None
    reason: str = ""
    suites: tuple[AcceptedSuite, ...] = ()
    suites_complete: bool = True
    server_preference: bool | None = None

    @property
    def label(self) -> str:
        return Version(self.version).label

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(s.code for s in self.suites)


@dataclass(frozen=True, kw_only=True)
class Chain:
    """A certificate chain as served (DER, leaf first), and the probe that saw it."""

    certificates: tuple[bytes, ...]
    seen_with: str
    #: The first OCSP response the server stapled to this chain (DER; empty when none).
    ocsp_response: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, kw_only=True)
class TlsScanResult:
    """Everything :func:`keywire.tls.scan.scan_endpoint` learned about one endpoint."""

    host: str
    address: str
    port: int
    server_name: str | None
    reachable: bool
    error: str = ""
    protocols: tuple[ProtocolResult, ...] = ()
    groups: tuple[int, ...] | None = None
    groups_legacy: tuple[int, ...] | None = None
    groups_legacy_note: str = ""
    fallback_scsv: bool | None = None
    secure_renegotiation: bool | None = None
    compression: bool | None = None
    ocsp_stapling: bool | None = None
    alpn: tuple[str, ...] | None = None
    chains: tuple[Chain, ...] = ()
    probes: tuple[ProbeStatus, ...] = ()
    connections: int = 0
    elapsed_s: float = 0.0

    def protocol(self, version: int) -> ProtocolResult | None:
        for result in self.protocols:
            if result.version == version:
                return result
        return None

    @property
    def offered_versions(self) -> tuple[int, ...]:
        return tuple(p.version for p in self.protocols if p.offered)

    @property
    def complete(self) -> bool:
        return self.reachable and all(p.completed for p in self.probes)
