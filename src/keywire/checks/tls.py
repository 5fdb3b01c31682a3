"""TLS: protocol versions, cipher suites, key exchange and certificates, from raw handshakes.

keywire's own TLS client (:mod:`keywire.tls`) writes ClientHellos byte by byte and reads the
server's answers, so it can offer what no modern OpenSSL can (SSL 2.0/3.0, EXPORT, RC4, GOST...)
and report only what the *server* accepts. For the HTTPS side of each target it establishes:

- which of SSL 2.0, SSL 3.0, TLS 1.0, 1.1, 1.2 and 1.3 the server negotiates;
- every accepted suite of the IANA registry per version (offering bundles of suites and
  dropping the one the server picks until it refuses), whether the server imposes its own
  order, and that order;
- the groups it accepts for TLS 1.3 (through HelloRetryRequests, so post-quantum hybrids such
  as X25519MLKEM768 show up without computing them) and the curves it uses for ECDHE;
- the size of its DH parameters, TLS_FALLBACK_SCSV, secure renegotiation, TLS compression,
  OCSP stapling and ALPN;
- the certificate chain (decrypting the TLS 1.3 flight when nothing older is offered), verified
  with ``cryptography.x509.verification`` against certifi's roots, the system's and
  ``--ca-file`` the way OpenSSL-based clients verify it, and, when it fails, why; what only the
  strict X.509 profile refuses in a trusted chain is reported apart (KW613, low).
- past the first flight (:mod:`keywire.tls.depth`, verdicts in :mod:`._tls_depth`): whether
  client-initiated renegotiation is honoured, session resumption and ticket lifetimes, TLS 1.3
  0-RTT acceptance and replay, Heartbleed, CCS injection and ROBOT (unless
  ``--no-vulnerability-probes``), the real strength of DH groups (:mod:`._dh`) and reused
  ephemeral keys.

At most ``--per-host`` connections are open to a host at once, shared with the HTTP probes.
Anything that could not be established (a timeout, an answer keywire cannot decrypt) makes the
check *not tested* with the reason, never a pass or a "not supported".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .._dataclass import dataclass
from .._models import Confidence, Finding, Rule, Severity
from ..targets import Target
from ..tls._constants import Group, Version, group_label
from ..tls.certfacts import ChainAnalysis
from ..tls.results import TlsScanResult
from ..tls.suites import CipherSuite, by_code, ssl2_by_code
from . import _cert_depth, _tls_depth
from . import _tls_rules as R
from ._base import Family, not_applicable, not_tested
from ._tls_certificate import certificate_findings
from ._tls_details import details

RULES = R.RULES + _cert_depth.RULES


@dataclass(frozen=True, kw_only=True)
class TlsObservation:
    """The TLS scan of a target's HTTPS endpoint and the analysis of each chain it served."""

    target: str
    endpoint: str = ""
    scan: TlsScanResult | None = None
    chains: tuple[ChainAnalysis, ...] = ()
    skipped: str = ""
    failure: str = ""
    counterpart: bool = False
    #: The HTTPS side is where the cleartext side redirects (not given, not assumed).
    named_by_redirect: bool = False


def _accepted(scan: TlsScanResult) -> list[tuple[int, CipherSuite]]:
    return [
        (p.version, by_code(s.code))
        for p in scan.protocols
        if p.offered and p.version != Version.SSL2
        for s in p.suites
    ]


def _listing(items: Iterable[tuple[int, CipherSuite]], limit: int = 12) -> str:
    by_version: dict[int, list[str]] = {}
    for version, suite in items:
        names = by_version.setdefault(version, [])
        if suite.name not in names:
            names.append(suite.name)
    parts = []
    for version in sorted(by_version, reverse=True):
        names = by_version[version]
        shown = ", ".join(names[:limit]) + (
            f" (+{len(names) - limit} more)" if len(names) > limit else ""
        )
        parts.append(f"{Version(version).label}: {shown}")
    return "; ".join(parts)


class _Findings:
    def __init__(self, target: str, endpoint: str) -> None:
        self.target = target
        self.endpoint = endpoint
        self.items: list[Finding] = []

    def add(
        self,
        rule: Rule,
        message: str,
        location: str,
        evidence: Mapping[str, str] | None = None,
        confidence: Confidence = Confidence.HIGH,
        severity: Severity | None = None,
    ) -> None:
        self.items.append(
            rule.finding(
                target=self.target,
                message=f"{self.endpoint}: {message}",
                evidence={"endpoint": self.endpoint, **(evidence or {})},
                location=location,
                confidence=confidence,
                severity=severity,
            )
        )


def _protocols(scan: TlsScanResult, out: _Findings) -> None:
    for version, rule in (
        (Version.SSL2, R.SSL2),
        (Version.SSL3, R.SSL3),
        (Version.TLS10, R.TLS10),
        (Version.TLS11, R.TLS11),
    ):
        result = scan.protocol(version)
        if result is None or not result.offered:
            continue
        if version == Version.SSL2:
            names = ", ".join(ssl2_by_code(s.code).name for s in result.suites)
        else:
            names = _listing((version, by_code(s.code)) for s in result.suites)
        out.add(
            rule,
            f"the server negotiates {result.label}.",
            result.label,
            {"suites": names or "none listed"},
        )
    tls12, tls13 = scan.protocol(Version.TLS12), scan.protocol(Version.TLS13)
    offered = scan.offered_versions
    if tls12 and tls13 and tls12.offered is False and tls13.offered is False and offered:
        labels = ", ".join(Version(v).label for v in offered)
        out.add(R.NO_MODERN, f"only {labels} offered.", "protocols", {"offered": labels})
    if tls13 and tls13.offered is False and tls12 and tls12.offered:
        out.add(R.NO_TLS13, "TLS 1.3 is not offered.", "TLSv1.3", {"reason": tls13.reason})
    if scan.fallback_scsv is False:
        out.add(
            R.NO_FALLBACK_SCSV,
            "a hello signalling TLS_FALLBACK_SCSV at a lower version is accepted.",
            "fallback",
            {"offered": ", ".join(Version(v).label for v in offered)},
        )


def _ciphers(scan: TlsScanResult, out: _Findings) -> None:
    accepted = _accepted(scan)
    tests: list[tuple[Rule, str, list[tuple[int, CipherSuite]]]] = [
        (R.NULL_CIPHERS, "suites without encryption", [a for a in accepted if a[1].null]),
        (R.ANON_CIPHERS, "anonymous suites", [a for a in accepted if a[1].anonymous]),
        (R.EXPORT_CIPHERS, "EXPORT suites", [a for a in accepted if a[1].export]),
        (R.RC4_CIPHERS, "RC4 suites", [a for a in accepted if a[1].rc4]),
        (R.DES_CIPHERS, "56-bit suites", [a for a in accepted if a[1].single_des]),
        (
            R.BLOCK64_CIPHERS,
            "64-bit block cipher suites",
            [a for a in accepted if a[1].block64 and not a[1].single_des and not a[1].export],
        ),
        (
            R.CBC_LEGACY,
            "CBC suites with TLS 1.0 or SSL 3.0",
            [a for a in accepted if a[1].cbc and a[0] <= Version.TLS10],
        ),
    ]
    for rule, what, found in tests:
        if found:
            out.add(
                rule,
                f"the server accepts {what}: {_listing(found, 4)}.",
                "cipher-suites",
                {"suites": _listing(found)},
            )
    if not accepted:
        return
    authenticated = [a for a in accepted if not a[1].anonymous]
    forward = [a for a in authenticated if a[1].forward_secret]
    static = [a for a in authenticated if not a[1].forward_secret]
    if authenticated and not forward:
        out.add(
            R.NO_FORWARD_SECRECY,
            "no accepted suite has forward secrecy.",
            "cipher-suites",
            {"suites": _listing(static)},
        )
    elif static:
        out.add(
            R.STATIC_KEX,
            f"the server also accepts suites without forward secrecy: {_listing(static, 4)}.",
            "cipher-suites",
            {"suites": _listing(static)},
        )
    if not any(suite.aead for _, suite in accepted):
        out.add(R.NO_AEAD, "no accepted suite uses AEAD encryption.", "cipher-suites")
    for result in scan.protocols:
        if not result.offered or result.server_preference is not True or not result.suites:
            continue
        top = by_code(result.suites[0].code)
        strong = [
            by_code(s.code)
            for s in result.suites
            if by_code(s.code).forward_secret
            and by_code(s.code).aead
            and not by_code(s.code).anonymous
        ]
        if strong and not (top.forward_secret and top.aead):
            out.add(
                R.WEAK_PREFERENCE,
                f"with {result.label} the server prefers {top.name} over {strong[0].name}.",
                result.label,
                {"preferred": top.name, "stronger": strong[0].name},
            )


def _key_exchange(scan: TlsScanResult, out: _Findings) -> None:
    dh = sorted({s.dh_bits for p in scan.protocols if p.offered for s in p.suites if s.dh_bits})
    export_rsa = sorted(
        {
            s.rsa_export_bits
            for p in scan.protocols
            if p.offered
            for s in p.suites
            if s.rsa_export_bits
        }
    )
    broken = [f"DH {b} bits" for b in dh if b < 1024] + [
        f"RSA {b} bits" for b in export_rsa if b < 1024
    ]
    if broken:
        out.add(
            R.KEX_BROKEN,
            f"ephemeral keys under 1024 bits: {', '.join(broken)}.",
            "key-exchange",
            {"keys": ", ".join(broken)},
        )
    small = [b for b in dh if 1024 <= b < 2048]
    if small:
        out.add(
            R.DH_SMALL,
            f"DHE uses a {small[0]}-bit prime.",
            "dh-parameters",
            {"dh_bits": ", ".join(str(b) for b in small)},
        )
    curves: set[int] = set(scan.groups_legacy or ()) | set(scan.groups or ())
    curves |= {s.group for p in scan.protocols if p.offered for s in p.suites if s.group}
    weak = sorted(g for g in curves if g < 256 and 0 < _group_bits(g) < 224)
    if weak:
        names = ", ".join(group_label(g) for g in weak)
        out.add(R.WEAK_CURVE, f"ECDHE uses {names}.", "curves", {"curves": names})


def _group_bits(code: int) -> int:
    try:
        return Group(code).bits
    except ValueError:
        return 0


def _extras(scan: TlsScanResult, out: _Findings) -> None:
    if scan.secure_renegotiation is False:
        out.add(
            R.NO_SECURE_RENEGOTIATION,
            "the ServerHello carries no renegotiation_info extension.",
            "renegotiation",
        )
    if scan.compression:
        out.add(R.COMPRESSION, "the server chose DEFLATE compression.", "compression")


def check(obs: TlsObservation) -> Sequence[Finding]:
    if obs.skipped:
        raise not_applicable(obs.skipped)
    scan = obs.scan
    if scan is None or obs.failure:
        if obs.counterpart:
            # An http:// target's implied HTTPS side that does not answer: nothing to examine
            # (the HTTP checks report the missing HTTPS), not an incomplete scan.
            where = " (where the API redirects)" if obs.named_by_redirect else ""
            raise not_applicable(f"no TLS service at {obs.endpoint}{where}: {obs.failure}")
        raise not_tested(f"TLS scan of {obs.endpoint or obs.target} failed: {obs.failure}")
    answered = [p for p in scan.protocols if p.offered is not None]
    if scan.protocols and not answered:
        # TCP connections were accepted, yet no hello got a verdict: a stalled, dripping or
        # garbled handshake. Nothing is known about this server's TLS, least of all a refusal.
        seen = list(dict.fromkeys(p.reason for p in scan.protocols if p.reason))
        raise not_tested(
            f"{obs.endpoint} accepted the connection but never completed a TLS handshake: "
            + "; ".join(seen[:2] or ["no answer"])
        )
    if answered and not scan.offered_versions and all(p.offered is False for p in answered):
        reasons = "; ".join(f"{p.label}: {p.reason}" for p in scan.protocols[:3])
        raise not_tested(f"{obs.endpoint} accepted none of keywire's hellos ({reasons})")
    out = _Findings(obs.target, obs.endpoint)
    _protocols(scan, out)
    _ciphers(scan, out)
    _key_exchange(scan, out)
    _extras(scan, out)
    for rule, message, location, evidence in _tls_depth.findings(scan):
        out.add(rule, message, location, evidence)
    for chain in obs.chains:
        certificate_findings(chain, out.add)
    findings = _unique(out.items)
    missing = [f"{p.name}: {p.reason}" for p in scan.probes if not p.completed and not p.skipped]
    missing += _tls_depth.undecided(scan)
    if missing:
        reasons = "; ".join(missing)
        raise not_tested(
            f"part of the TLS scan of {obs.endpoint} did not run: {reasons}", findings=findings
        )
    return findings


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for finding in findings:
        seen.setdefault(finding.fingerprint, finding)
    return list(seen.values())


def inapplicable(target: Target) -> str | None:
    """The TLS scan needs an HTTPS side; an http:// target on another port than 80 has none."""
    if target.https_url is not None:
        return None
    return "tls needs an HTTPS side: give --https-port PORT, or scan the https:// URL"


FAMILY: Family[TlsObservation] = Family(
    name="tls",
    title="TLS protocols, cipher suites, key exchange and certificates",
    group="tls",
    observation=TlsObservation,
    check=check,
    details=details,
    inapplicable=inapplicable,
)
