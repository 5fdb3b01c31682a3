"""The tls family's verdicts on each certificate chain the server served.

Validity dates, trust (self-signed, untrusted root, incomplete chain, name mismatch), key sizes,
signature algorithms and lifetime, and through :mod:`._cert_depth` what deeper checks of the
chain find. Findings go through ``add``, the family's collector (:mod:`keywire.checks.tls`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._models import Confidence
from ..tls.certfacts import CertInfo, ChainAnalysis
from . import _cert_depth
from . import _tls_rules as R

#: The collector's ``add(rule, message, location, evidence, confidence, severity)``.
Add = Callable[..., None]

LIFETIME_LIMIT_DAYS = 398


def _expiry(chain: ChainAnalysis, certs: Sequence[CertInfo], add: Add, where: str) -> bool:
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
            add(
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


def certificate_findings(chain: ChainAnalysis, add: Add) -> None:
    """The findings about one served chain: validity, trust, names, keys, signatures, lifetime."""
    leaf = chain.leaf
    if leaf is None or chain.parse_error:
        add(
            R.CERT_UNTRUSTED,
            f"the certificate chain cannot be read: {chain.parse_error}.",
            "certificate",
            {"error": chain.parse_error},
        )
        return
    where = f"certificate:{leaf.sha256[:16]}"
    evidence = {"subject": leaf.subject, "issuer": leaf.issuer, "sha256": leaf.sha256}
    path = [c for c in chain.in_path() if not (c.subject == c.issuer and c.is_ca)] or [leaf]
    explained = _expiry(chain, path, add, where)
    if chain.path == "self_signed":
        add(R.CERT_SELF_SIGNED, f"'{leaf.subject}' is self-signed.", where, evidence)
        explained = True
    elif chain.path in ("untrusted_root", "unknown_issuer"):
        last = chain.certificates[max(0, chain.path_length - 1)]
        what = (
            f"the chain ends at '{last.subject}', which is not a trusted root"
            if chain.path == "untrusted_root"
            else f"the issuer '{last.issuer}' is neither sent nor a trusted root"
        )
        add(R.CERT_UNTRUSTED, f"{what}.", where, {**evidence, "error": chain.verify_error})
        explained = True
    elif chain.path == "incomplete":
        last = chain.certificates[max(0, chain.path_length - 1)]
        add(
            R.CERT_INCOMPLETE,
            f"the issuer '{last.issuer}' of '{last.subject}' is not sent.",
            where,
            evidence,
        )
        explained = True
    # A certificate without subjectAltName matches no name at all: KW624 says why.
    if not chain.hostname_matches and leaf.has_san:
        names = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "none"
        add(
            R.CERT_NAME_MISMATCH,
            f"the certificate is for {names}, not {chain.hostname}.",
            where,
            {**evidence, "names": names, "host": chain.hostname},
        )
        explained = True
    for cert in path:
        if cert.signature_hash in ("md5", "sha1"):
            rule = R.CERT_MD5 if cert.signature_hash == "md5" else R.CERT_SHA1
            add(
                rule,
                f"'{cert.subject}' is signed with {cert.signature_algorithm}.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "signature_algorithm": cert.signature_algorithm},
            )
            explained = True
        if cert.key_type in ("RSA", "DSA") and cert.key_bits < 2048:
            rule = R.CERT_KEY_BROKEN if cert.key_bits < 1024 else R.CERT_RSA_SMALL
            add(
                rule,
                f"'{cert.subject}' has a {cert.key_bits}-bit {cert.key_type} key.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "key": f"{cert.key_type} {cert.key_bits}"},
            )
            explained = True
        if cert.key_type.startswith("EC ") and cert.key_bits < 256:
            add(
                R.CERT_EC_SMALL,
                f"'{cert.subject}' has a {cert.key_type} key of {cert.key_bits} bits.",
                f"{where}:{cert.sha256[:16]}",
                {"subject": cert.subject, "key": f"{cert.key_type} {cert.key_bits}"},
            )
            explained = True
    if chain.trusted and chain.deviations:
        add(
            R.CERT_STRICT_PROFILE,
            "the chain is trusted the way OpenSSL-based clients (curl, Python's ssl) trust it, "
            "but stricter clients (Python 3.13+'s default SSL context, cryptography's verifier, "
            "WebPKI libraries) refuse it: " + "; ".join(chain.deviations) + ".",
            f"{where}:strict-profile",
            {**evidence, "deviations": "; ".join(chain.deviations)},
        )
    explained |= _cert_depth.check_chain(chain, where, add)
    if leaf.lifetime_days > LIFETIME_LIMIT_DAYS:
        add(
            R.CERT_LONG_LIFETIME,
            f"'{leaf.subject}' is valid for {leaf.lifetime_days} days.",
            where,
            {**evidence, "lifetime_days": str(leaf.lifetime_days)},
        )
    if not chain.trusted and not explained:
        add(
            R.CERT_UNTRUSTED,
            f"the chain does not verify: {chain.verify_error}.",
            where,
            {**evidence, "error": chain.verify_error},
            confidence=Confidence.MEDIUM,
        )
