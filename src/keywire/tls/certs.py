"""Certificate chains: what was served, whether it verifies, and why not.

The verdict comes from ``cryptography.x509.verification`` (its path builder) against the trust
store: certifi's roots, the system's and the scan's ``--ca-file``, with the extension policy the
API's real clients apply. OpenSSL (curl, Python's ``ssl``, most HTTP libraries) builds paths
without the WebPKI profile's extra demands: it trusts a CA made with a plain ``openssl req
-x509`` (no keyUsage) and a leaf that asserts cA. :func:`openssl_like_policies` encodes what
OpenSSL checks for a TLS server (issuers must be CAs, keyUsage and extendedKeyUsage, when
present, must allow what they are used for, no unknown critical extension); it agreed with
``openssl verify -purpose sslserver``, Python's ``ssl`` and curl on every chain of the
differential test (``tests/tls/test_openssl_trust.py``, certificates made by the openssl CLI).
What the strict profile (RFC 5280 and the CA/Browser Forum rules that Python 3.13's default
context, rustls and ``cryptography`` enforce) would refuse in a chain OpenSSL trusts is reported
apart, in words (:attr:`ChainAnalysis.deviations`, rule KW613).

When verification fails, keywire builds the path itself, checking each signature with the
issuer's key (SHA-1 and MD5 included, which the verifier refuses outright), to tell the reasons
apart: expired, not yet valid, self-signed, untrusted root, incomplete chain, name mismatch, weak
signature. :func:`analyse_chain` is pure: the store and the time are arguments. The store is
:mod:`keywire.tls.truststore`'s, the verifier and its policy :mod:`keywire.tls.verifier`'s.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    ObjectIdentifier,
)

from .certfacts import SGC_NAMES as SGC_NAMES
from .certfacts import CertInfo as CertInfo
from .certfacts import ChainAnalysis as ChainAnalysis
from .truststore import TrustStore as TrustStore
from .truststore import load_trust_store as load_trust_store
from .verifier import in_words as in_words
from .verifier import openssl_like_policies as openssl_like_policies
from .verifier import verify

MAX_PATH = 10


def _key(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def _names(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (x509.ExtensionNotFound, ValueError):
        return (), ()
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    dns = tuple(str(n) for n in san.get_values_for_type(x509.DNSName))
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return dns, ips


EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ObjectIdentifier("2.16.840.1.113730.4.1"): "nsSGC",
    ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"): "msSGC",
}


def _extended_key_usage(cert: x509.Certificate) -> tuple[str, ...] | None:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return ("unparsable",)
    value = ext.value
    if not isinstance(value, x509.ExtendedKeyUsage):
        return ("unparsable",)
    return tuple(EKU_NAMES.get(oid, oid.dotted_string) for oid in list(value)[:32])


def _common_name(cert: x509.Certificate) -> str:
    try:
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return ""
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _has_san(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return False
    except ValueError:
        return True  # present, if malformed: not the "CN only" case
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    except (x509.ExtensionNotFound, ValueError):
        return False
    value = ext.value
    return isinstance(value, x509.BasicConstraints) and value.ca


def _hash_name(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return algorithm.name if algorithm is not None else None


def _signature_name(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


def describe(cert: x509.Certificate) -> CertInfo:
    key_type, key_bits = _key(cert)
    dns, ips = _names(cert)
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=_signature_name(cert),
        signature_hash=_hash_name(cert),
        dns_names=dns,
        ip_addresses=ips,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        sha1=cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - a fingerprint, as browsers show
        is_ca=_is_ca(cert),
        common_name=_common_name(cert),
        has_san=_has_san(cert),
        extended_key_usage=_extended_key_usage(cert),
        der_bytes=len(cert.public_bytes(Encoding.DER)),
    )


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made ``cert``'s signature, whatever the hash (MD5, SHA-1 too)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        key = issuer.public_key()
        digest = cert.signature_hash_algorithm
        # signature_algorithm_parameters is None for the algorithms cryptography deprecates
        # (ecdsa-with-SHA1, md5WithRSAEncryption...): build the parameters from the hash.
        params = cert.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and digest is not None:
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and digest is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, dsa.DSAPublicKey) and digest is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, digest)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def hostname_matches(host: str, dns_names: Sequence[str], ip_addresses: Sequence[str]) -> bool:
    """RFC 6125 matching against the subjectAltName only (the common name is ignored).

    >>> hostname_matches("api.example.com", ["*.example.com"], [])
    True
    >>> hostname_matches("example.com", ["*.example.com"], [])
    False
    """
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in ip_addresses)
    wanted = host.rstrip(".").lower()
    for name in dns_names:
        pattern = name.rstrip(".").lower()
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            head, _, rest = wanted.partition(".")
            if head and rest == pattern[2:] and rest.count(".") >= 1:
                return True
    return False


def _build_path(
    served: list[x509.Certificate], store: TrustStore
) -> tuple[str, int, x509.Certificate | None]:
    """(path kind, number of served certificates used, anchor) from the leaf upwards."""
    current = served[0]
    used = 1
    for _ in range(MAX_PATH):
        if store.anchors(current):
            return "trusted", used - 1 if used > 1 else used, current
        roots = [c for c in store.issuers_of(current) if signed_by(current, c)]
        if roots:
            return "trusted", used, roots[0]
        sent = [c for c in served if c is not current and signed_by(current, c)]
        if not sent:
            if current.issuer == current.subject and signed_by(current, current):
                return ("self_signed" if used == 1 else "untrusted_root"), used, None
            # The issuer was not sent. With an AIA caIssuers URL a client could fetch it (the
            # chain is incomplete); without one, no client can build the path.
            return ("incomplete" if _ca_issuers(current) else "unknown_issuer"), used, None
        current = sent[0]
        used = max(used, served.index(current) + 1)
    return "unknown_issuer", used, None


def _ca_issuers(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, ValueError):
        return False
    value = ext.value
    return isinstance(value, x509.AuthorityInformationAccess) and any(
        d.access_method == AuthorityInformationAccessOID.CA_ISSUERS for d in value
    )


def _extension(cert: x509.Certificate, oid: ObjectIdentifier) -> x509.Extension[Any] | None:
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except (x509.ExtensionNotFound, ValueError):
        return None


def strict_profile_deviations(
    leaf: x509.Certificate, issuers: Sequence[x509.Certificate]
) -> list[str]:
    """What the strict profile refuses in a path OpenSSL accepts, one sentence per problem.

    ``issuers`` are the path's CA certificates, the trust anchor included.
    """
    found: list[str] = []
    name = f"the server certificate '{leaf.subject.rfc4514_string()}'"
    constraints = _extension(leaf, ExtensionOID.BASIC_CONSTRAINTS)
    if constraints is not None and getattr(constraints.value, "ca", False):
        found.append(
            f"{name} asserts cA in its basic constraints: a server certificate must not be a CA"
        )
    san = _extension(leaf, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if san is not None and san.critical and len(leaf.subject) > 0:
        found.append(
            f"{name} marks its subject alternative name critical although its subject is not empty"
        )
    usage = _extension(leaf, ExtensionOID.KEY_USAGE)
    if usage is not None and getattr(usage.value, "key_cert_sign", False):
        found.append(f"{name} allows signing certificates in its key usage")
    for cert in (leaf, *issuers):
        self_signed = cert.issuer == cert.subject
        if not self_signed and _extension(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER) is None:
            what = name if cert is leaf else f"the CA certificate '{cert.subject.rfc4514_string()}'"
            found.append(f"{what} has no authority key identifier extension")
    for cert in issuers:
        what = f"the CA certificate '{cert.subject.rfc4514_string()}'"
        if _extension(cert, ExtensionOID.KEY_USAGE) is None:
            found.append(
                f"{what} has no key usage extension (a CA must assert keyCertSign, RFC 5280 "
                "section 4.2.1.3)"
            )
        bc = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
        if bc is not None and not bc.critical:
            found.append(f"{what} does not mark its basic constraints extension critical")
    return found


def analyse_chain(
    certificates: Sequence[bytes],
    *,
    hostname: str,
    store: TrustStore,
    now: datetime.datetime,
    seen_with: str = "",
) -> ChainAnalysis:
    """Check one served chain (DER, leaf first); see the module docstring."""
    served: list[x509.Certificate] = []
    for der in certificates:
        try:
            served.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            return ChainAnalysis(
                seen_with=seen_with,
                hostname=hostname,
                checked_at=now,
                certificates=tuple(describe(c) for c in served),
                trusted=False,
                path="unparsable",
                parse_error=f"certificate {len(served) + 1} does not parse: {exc}"[:300],
            )
    if not served:
        return ChainAnalysis(
            seen_with=seen_with,
            hostname=hostname,
            checked_at=now,
            certificates=(),
            trusted=False,
            path="unparsable",
            parse_error="the server sent an empty certificate list",
        )
    infos = tuple(describe(c) for c in served)
    error = verify(served, store, hostname, now)
    path, used, anchor = _build_path(served, store)
    deviations: tuple[str, ...] = ()
    if not error:
        strict_error = verify(served, store, hostname, now, strict=True)
        if strict_error:
            issuers = [c for c in served[1:used] if c is not anchor]
            if anchor is not None and anchor is not served[0]:
                issuers.append(anchor)
            deviations = tuple(strict_profile_deviations(served[0], issuers) or [strict_error])
    leaf = infos[0]
    return ChainAnalysis(
        seen_with=seen_with,
        hostname=hostname,
        checked_at=now,
        certificates=infos,
        trusted=not error,
        verify_error=error,
        path=path,
        path_length=used,
        anchor=anchor.subject.rfc4514_string() if anchor is not None else "",
        hostname_matches=hostname_matches(hostname, leaf.dns_names, leaf.ip_addresses),
        deviations=deviations,
        anchor_not_after=anchor.not_valid_after_utc if anchor is not None else None,
    )
