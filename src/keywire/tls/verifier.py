"""The verifier's verdict on a served chain, with the extension policy OpenSSL applies, in words.

See :mod:`keywire.tls.certs` for why the policy is OpenSSL's and what the strict profile adds.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from typing import Any

from cryptography import x509
from cryptography.x509.oid import (
    ExtendedKeyUsageOID,
    ObjectIdentifier,
)

from .certfacts import SGC_NAMES as SGC_NAMES
from .certfacts import CertInfo as CertInfo
from .certfacts import ChainAnalysis as ChainAnalysis
from .truststore import TrustStore

# -- the extension policy OpenSSL applies to a TLS server's chain ---------------------------

_SGC = frozenset(  # Netscape and Microsoft Server Gated Crypto: OpenSSL still accepts them
    {ObjectIdentifier("2.16.840.1.113730.4.1"), ObjectIdentifier("1.3.6.1.4.1.311.10.3.3")}
)


def _server_eku(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
    if ext is not None and ExtendedKeyUsageOID.SERVER_AUTH not in ext and not _SGC & set(ext):
        raise ValueError("the extended key usage does not include TLS server authentication")


def _ca_basic_constraints(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
    if not ext.ca:
        raise ValueError("the basic constraints do not make it a CA")


def _ca_key_usage(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
    if ext is not None and not ext.key_cert_sign:
        raise ValueError("the key usage does not allow signing certificates")


def _server_key_usage(_policy: Any, _cert: x509.Certificate, ext: Any) -> None:
    if ext is not None and not (ext.digital_signature or ext.key_encipherment or ext.key_agreement):
        raise ValueError("the key usage allows neither signatures nor key exchange")


@functools.cache
def openssl_like_policies() -> tuple[Any, Any]:
    """(CA policy, end-entity policy) checking what OpenSSL checks for a TLS server's chain.

    OpenSSL's ``X509_verify_cert`` with the ``sslserver`` purpose: an issuer must be a CA
    (basicConstraints cA, keyUsage keyCertSign when keyUsage is present), extendedKeyUsage, when
    present anywhere in the path, must include serverAuth, the leaf's keyUsage, when present,
    must allow a signature or a key exchange, and an unknown critical extension fails. It does
    not require keyUsage on a CA, authority key identifiers, critical basicConstraints, nor
    forbid cA on a leaf: those are the strict profile's, reported as deviations.
    """
    from cryptography.x509.verification import Criticality, ExtensionPolicy

    any_ = Criticality.AGNOSTIC
    ca = (
        ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, any_, _ca_basic_constraints)
        .may_be_present(x509.KeyUsage, any_, _ca_key_usage)
        .may_be_present(x509.ExtendedKeyUsage, any_, _server_eku)
    )
    ee = (
        ExtensionPolicy.permit_all()
        .require_present(x509.SubjectAlternativeName, any_, None)  # names are matched in SANs
        .may_be_present(x509.KeyUsage, any_, _server_key_usage)
        .may_be_present(x509.ExtendedKeyUsage, any_, _server_eku)
    )
    return ca, ee


def verify(
    served: list[x509.Certificate],
    store: TrustStore,
    hostname: str,
    now: datetime.datetime,
    *,
    strict: bool = False,
) -> str:
    """The verifier's complaint in words, or "" when the chain verifies for ``hostname``.

    ``strict`` applies cryptography's WebPKI defaults instead of :func:`openssl_like_policies`.
    """
    from cryptography.x509.verification import PolicyBuilder, VerificationError

    try:
        subject: Any = x509.IPAddress(ipaddress.ip_address(hostname.strip("[]")))
    except ValueError:
        try:
            subject = x509.DNSName(hostname)
        except ValueError as exc:
            return f"cannot check the name {hostname!r}: {exc}"
    builder = PolicyBuilder().store(store.verifier_store).time(now)
    if not strict:
        ca_policy, ee_policy = openssl_like_policies()
        builder = builder.extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
    verifier = builder.build_server_verifier(subject)
    try:
        verifier.verify(served[0], served[1:])
    except VerificationError as exc:
        return in_words(str(exc))
    except (ValueError, TypeError) as exc:
        return in_words(str(exc)) or type(exc).__name__
    return ""


# -- errors and deviations in words ---------------------------------------------------------

EXTENSION_NAMES = {
    "2.5.29.14": "subject key identifier",
    "2.5.29.15": "key usage",
    "2.5.29.17": "subject alternative name",
    "2.5.29.18": "issuer alternative name",
    "2.5.29.19": "basic constraints",
    "2.5.29.30": "name constraints",
    "2.5.29.31": "CRL distribution points",
    "2.5.29.32": "certificate policies",
    "2.5.29.33": "policy mappings",
    "2.5.29.35": "authority key identifier",
    "2.5.29.36": "policy constraints",
    "2.5.29.37": "extended key usage",
    "2.5.29.54": "inhibit anyPolicy",
    "1.3.6.1.5.5.7.1.1": "authority information access",
    "1.3.6.1.5.5.7.1.24": "TLS feature (OCSP must-staple)",
    "1.3.6.1.4.1.11129.2.4.2": "signed certificate timestamps",
}
_OID = re.compile(r"\b(?:\d+\.){3,}\d+\b")
_REPR = re.compile(r"\s*\(encountered processing <Certificate\(.*\)>\)", re.S)
_PREFIX = re.compile(r"^(?:validation failed: |candidates exhausted: )+")
_VALIDATOR = re.compile(r"Python extension validator failed: \w+: ")


def _oid_in_words(match: re.Match[str]) -> str:
    oid = match.group(0)
    name = EXTENSION_NAMES.get(oid)
    return f"the {name} extension" if name else f"an extension unknown to keywire (OID {oid})"


def in_words(message: str) -> str:
    """A verifier message without Python reprs, with extensions named in words.

    >>> in_words("validation failed: candidates exhausted: invalid extension: 2.5.29.15: "
    ...          "Certificate is missing required extension")
    'invalid extension: the key usage extension: Certificate is missing required extension'
    """
    text = _VALIDATOR.sub("", _PREFIX.sub("", _REPR.sub("", message.strip())))
    return _OID.sub(_oid_in_words, text)[:300]
