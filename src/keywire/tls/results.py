"""The facts a TLS scan establishes about one endpoint: frozen values, no verdicts.

Every probe records whether it completed. ``None`` in a fact means *not tested*, never *no*:
the checks turn only completed probes into findings or passes.
"""

from __future__ import annotations

from dataclasses import field

from .._dataclass import dataclass
from ._constants import Version


@dataclass(frozen=True, kw_only=True)
class ProbeStatus:
    """Whether one probe of the scan ran to the end, and if not, why.

    ``skipped`` marks a probe the user turned off (``--no-vulnerability-probes``): not run, and
    said so, but not a failure of the scan.
    """

    name: str
    completed: bool
    reason: str = ""
    skipped: bool = False


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
class DhGroup:
    """Finite-field DH parameters a server used (RFC 5246 ServerDHParams), as sent."""

    prime: bytes
    generator: bytes
    seen_with: str

    @property
    def bits(self) -> int:
        return int.from_bytes(self.prime, "big").bit_length()


@dataclass(frozen=True, kw_only=True)
class EphemeralKeys:
    """How often the server's ephemeral public value repeated across connections."""

    kind: str  # "DHE" or "ECDHE"
    samples: int
    distinct: int

    @property
    def reused(self) -> bool | None:
        """True when a value came back on another connection; None with fewer than two."""
        if self.samples < 2:
            return None
        return self.distinct < self.samples


@dataclass(frozen=True, kw_only=True)
class VulnerabilityResult:
    """One known-vulnerability probe: ``vulnerable`` is None when it could not decide.

    ``oracle`` is ROBOT's kind of oracle ("strong", "weak" or "" for none); ``responses`` what
    the server answered each ROBOT payload (for the report).
    """

    name: str
    vulnerable: bool | None
    detail: str = ""
    oracle: str = ""
    responses: tuple[str, ...] = ()
    #: Undecided because of keywire's own limit (it has no client certificate to show, say).
    limited: bool = False


@dataclass(frozen=True, kw_only=True)
class RenegotiationResult:
    """Client-initiated renegotiation: how many in a row the server completed.

    ``honoured`` == ``attempts`` means the server honours them (a cheap denial of service);
    fewer means it refused or rate-limited them (``refusal`` says how). ``attempts`` 0: not
    tested (see ``reason``).
    """

    version: int | None = None
    attempts: int = 0
    honoured: int = 0
    refusal: str = ""
    reason: str = ""

    @property
    def accepted(self) -> bool | None:
        if not self.attempts:
            return None
        return self.honoured == self.attempts


@dataclass(frozen=True, kw_only=True)
class ResumptionResult:
    """Session resumption: by session ID and ticket (TLS <= 1.2), by ticket (TLS 1.3).

    ``None`` is not tested; lifetimes are the server's hints in seconds.
    """

    session_id: bool | None = None
    ticket: bool | None = None
    ticket_lifetime: int | None = None
    tls13: bool | None = None
    tls13_lifetime: int | None = None
    tls13_tickets: int = 0
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class EarlyDataResult:
    """TLS 1.3 0-RTT: would the server accept early data, and again with the same ticket?

    ``max_size`` is the ticket's max_early_data_size (None: the tickets allow none).
    """

    accepted: bool | None = None
    max_size: int | None = None
    replay_accepted: bool | None = None
    reason: str = ""


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
    dh_groups: tuple[DhGroup, ...] = ()
    ephemeral_keys: tuple[EphemeralKeys, ...] = ()
    renegotiation: RenegotiationResult | None = None
    resumption: ResumptionResult | None = None
    early_data: EarlyDataResult | None = None
    vulnerabilities: tuple[VulnerabilityResult, ...] = ()
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
        return self.reachable and all(p.completed or p.skipped for p in self.probes)

    def vulnerability(self, name: str) -> VulnerabilityResult | None:
        for result in self.vulnerabilities:
            if result.name == name:
                return result
        return None
