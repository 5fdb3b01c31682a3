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
from ..tls.certfacts import CertInfo, ChainAnalysis
from ..tls.results import TlsScanResult
from ..tls.suites import CipherSuite, by_code, ssl2_by_code
from . import _cert_depth, _tls_depth
from . import _tls_rules as R
from ._base import Family, not_applicable, not_tested

RULES = R.RULES + _cert_depth.RULES
LIFETIME_LIMIT_DAYS = 398


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


def _expiry(chain: ChainAnalysis, certs: Sequence[CertInfo], out: _Findings, where: str) -> bool:
    now = chain.checked_at
    expired = [c for c in certs if c.not_after < now]
    early = [c for c in certs if c.not_before > now]
    for rule, found, what in (
        (R.CERT_EXPIRED, expired, "expired on"),
        (R.CERT_NOT_YET_VALID, early, "becomes valid on"),
    ):
        if found:
            cert = found[0]
            when = cert.not_after if rule is R.CERT_EXPIRED else cert.not_before
            out.add(
                rule,
                f"certificate '{cert.subject}' {what} {when.date().isoformat()}.",
                where,
                {
                    "subject": cert.subject,
                    "not_before": cert.not_before.isoformat(),
                    "not_after": cert.not_after.isoformat(),
                },
            )
    return bool(expired or early)


def _certificate(chain: ChainAnalysis, out: _Findings) -> None:
    leaf = chain.leaf
    if leaf is None or chain.parse_error:
        out.add(
            R.CERT_UNTRUSTED,
            f"the certificate chain cannot be read: {chain.parse_error}.",
            "certificate",
            {"error": chain.parse_error},
        )
        return
    where = f"certificate:{leaf.sha256[:16]}"
    evidence = {"subject": leaf.subject, "issuer": leaf.issuer, "sha256": leaf.sha256}
    path = [c for c in chain.in_path() if not (c.subject == c.issuer and c.is_ca)] or [leaf]
    explained = _expiry(chain, path, out, where)
    if chain.path == "self_signed":
        out.add(R.CERT_SELF_SIGNED, f"'{leaf.subject}' is self-signed.", where, evidence)
        explained = True
    elif chain.path in ("untrusted_root", "unknown_issuer"):
        last = chain.certificates[max(0, chain.path_length - 1)]
        what = (
            f"the chain ends at '{last.subject}', which is not a trusted root"
            if chain.path == "untrusted_root"
            else f"the issuer '{last.issuer}' is neither sent nor a trusted root"
        )
        out.add(R.CERT_UNTRUSTED, f"{what}.", where, {**evidence, "error": chain.verify_error})
        explained = True
    elif chain.path == "incomplete":
        last = chain.certificates[max(0, chain.path_length - 1)]
        out.add(
            R.CERT_INCOMPLETE,
            f"the issuer '{last.issuer}' of '{last.subject}' is not sent.",
            where,
            evidence,
        )
        explained = True
    # A certificate without subjectAltName matches no name at all: KW624 says why.
    if not chain.hostname_matches and leaf.has_san:
        names = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "none"
        out.add(
            R.CERT_NAME_MISMATCH,
            f"the certificate is for {names}, not {chain.hostname}.",
            where,
            {**evidence, "names": names, "host": chain.hostname},
        )
        explained = True
    for cert in path:
        if cert.signature_hash in ("md5", "sha1"):
            rule = R.CERT_MD5 if cert.signature_hash == "md5" else R.CERT_SHA1
            out.add(
                rule,
                f"'{cert.subject}' is signed with {cert.signature_algorithm}.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "signature_algorithm": cert.signature_algorithm},
            )
            explained = True
        if cert.key_type in ("RSA", "DSA") and cert.key_bits < 2048:
            rule = R.CERT_KEY_BROKEN if cert.key_bits < 1024 else R.CERT_RSA_SMALL
            out.add(
                rule,
                f"'{cert.subject}' has a {cert.key_bits}-bit {cert.key_type} key.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "key": f"{cert.key_type} {cert.key_bits}"},
            )
            explained = True
        if cert.key_type.startswith("EC ") and cert.key_bits < 256:
            out.add(
                R.CERT_EC_SMALL,
                f"'{cert.subject}' has a {cert.key_type} key of {cert.key_bits} bits.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "key": f"{cert.key_type} {cert.key_bits}"},
            )
            explained = True
    if chain.trusted and chain.deviations:
        out.add(
            R.CERT_STRICT_PROFILE,
            "the chain is trusted the way OpenSSL-based clients (curl, Python's ssl) trust it, "
            "but stricter clients (Python 3.13+'s default SSL context, cryptography's verifier, "
            "WebPKI libraries) refuse it: " + "; ".join(chain.deviations) + ".",
            f"{where}:strict-profile",
            {**evidence, "deviations": "; ".join(chain.deviations)},
        )
    explained |= _cert_depth.check_chain(chain, where, out.add)
    if leaf.lifetime_days > LIFETIME_LIMIT_DAYS:
        out.add(
            R.CERT_LONG_LIFETIME,
            f"'{leaf.subject}' is valid for {leaf.lifetime_days} days.",
            where,
            {**evidence, "lifetime_days": str(leaf.lifetime_days)},
        )
    if not chain.trusted and not explained:
        out.add(
            R.CERT_UNTRUSTED,
            f"the chain does not verify: {chain.verify_error}.",
            where,
            {**evidence, "error": chain.verify_error},
            confidence=Confidence.MEDIUM,
        )


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
        _certificate(chain, out)
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


# -- report ----------------------------------------------------------------------------------


def _status(offered: bool | None) -> str:
    return {True: "offered", False: "not offered", None: "not tested"}[offered]


def details(obs: TlsObservation) -> Mapping[str, object]:
    scan = obs.scan
    if scan is None:
        return {"endpoint": obs.endpoint, "error": obs.failure or obs.skipped}
    found = {"found_through": "the cleartext side's redirect"} if obs.named_by_redirect else {}
    protocols: dict[str, object] = {}
    for p in scan.protocols:
        names = [
            ssl2_by_code(s.code).name if p.version == Version.SSL2 else by_code(s.code).name
            for s in p.suites
        ]
        protocols[p.label] = {
            "status": _status(p.offered),
            **({"reason": p.reason} if p.reason else {}),
            "suites": names,
            "suites_complete": p.suites_complete,
            "server_preference": p.server_preference,
        }
    dh = sorted({s.dh_bits for p in scan.protocols for s in p.suites if s.dh_bits})
    return {
        "endpoint": obs.endpoint,
        **found,
        "address": scan.address,
        "server_name": scan.server_name,
        "reachable": scan.reachable,
        **({"error": scan.error} if scan.error else {}),
        "protocols": protocols,
        "groups": {
            "tls13": None if scan.groups is None else [group_label(g) for g in scan.groups],
            "ecdhe_tls12": None
            if scan.groups_legacy is None
            else [group_label(g) for g in scan.groups_legacy],
            **({"note": scan.groups_legacy_note} if scan.groups_legacy_note else {}),
        },
        "dh_bits": dh,
        "fallback_scsv": scan.fallback_scsv,
        "secure_renegotiation": scan.secure_renegotiation,
        "compression": scan.compression,
        "ocsp_stapling": scan.ocsp_stapling,
        "alpn": None if scan.alpn is None else list(scan.alpn),
        "certificates": [c.to_json() for c in obs.chains],
        **_tls_depth.details(scan),
        "probes": {
            p.name: {
                "completed": p.completed,
                **({"skipped": True} if p.skipped else {}),
                **({"reason": p.reason} if p.reason else {}),
            }
            for p in scan.probes
        },
        "connections": scan.connections,
        "elapsed_ms": round(scan.elapsed_s * 1000, 1),
    }


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
