"""Revocation facts: where a certificate says to ask, and what an OCSP response or a CRL says.

Everything here is a pure function of bytes (no network): :func:`ocsp_request` builds the
request an OCSP responder is sent, :func:`judge_ocsp` and :func:`judge_crl` read an answer and
say what it establishes about one certificate, with ``cryptography`` doing the parsing and the
signature checks. A response is only believed when

- it is about this certificate (serial number, issuer name hash and issuer key hash),
- it is signed by the certificate's issuer, or by a responder certificate the issuer signed with
  the id-kp-OCSPSigning usage (RFC 6960 section 4.2.2.2); a CRL by the issuer itself,
- it is current: thisUpdate (lastUpdate) not in the future, nextUpdate not past (5 minutes of
  clock skew allowed); an OCSP response without nextUpdate is current for a day after its
  thisUpdate, as Firefox reads it,
- and, when keywire sent a nonce that the responder echoed, the nonce matches.

Anything else is :attr:`Status.INVALID` with the reason in words; an answer that never arrived
(the network part, in the ``revocation`` check family) is :attr:`Status.UNAVAILABLE`. Neither is
ever read as "not revoked".
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from .._dataclass import dataclass
from .certs import TrustStore, signed_by
from .revocation_facts import CRL as CRL
from .revocation_facts import RESPONDER as RESPONDER
from .revocation_facts import STAPLED as STAPLED
from .revocation_facts import Answer as Answer
from .revocation_facts import Status as Status

CLOCK_SKEW = datetime.timedelta(minutes=5)
#: How long an OCSP response without nextUpdate is taken as current.
NO_NEXT_UPDATE_LIFETIME = datetime.timedelta(days=1)
#: URLs of each kind taken from one certificate (a hostile certificate may list thousands).
MAX_URLS = 3
MAX_SINGLE_RESPONSES = 64


@dataclass(frozen=True, kw_only=True)
class Sources:
    """Where a certificate says its revocation status can be learned."""

    ocsp_urls: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    #: URLs keywire does not fetch (ldap://, file://...), kept to say so.
    unsupported: tuple[str, ...] = ()
    #: The TLS feature extension asks for a stapled response (OCSP Must-Staple, RFC 7633).
    must_staple: bool = False


def _fetchable(url: str) -> bool:
    return url[:7].lower() == "http://" or url[:8].lower() == "https://"


def _uris(names: Sequence[x509.GeneralName]) -> list[str]:
    return [n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)]


def sources(cert: x509.Certificate) -> Sources:
    """The OCSP responders (AIA) and CRL distribution points ``cert`` names, bounded."""
    ocsp_urls: list[str] = []
    crl_urls: list[str] = []
    unsupported: list[str] = []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        for description in list(aia.value)[:32]:
            if description.access_method == AuthorityInformationAccessOID.OCSP:
                ocsp_urls.extend(_uris([description.access_location]))
    except (x509.ExtensionNotFound, ValueError):
        pass
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        for point in list(cdp.value)[:32]:
            crl_urls.extend(_uris(point.full_name or []))
    except (x509.ExtensionNotFound, ValueError):
        pass
    must_staple = False
    try:
        feature = cert.extensions.get_extension_for_class(x509.TLSFeature)
        must_staple = x509.TLSFeatureType.status_request in list(feature.value)
    except (x509.ExtensionNotFound, ValueError):
        pass
    for url in ocsp_urls + crl_urls:
        if not _fetchable(url):
            unsupported.append(url[:200])
    return Sources(
        ocsp_urls=tuple(u[:2048] for u in ocsp_urls if _fetchable(u))[:MAX_URLS],
        crl_urls=tuple(u[:2048] for u in crl_urls if _fetchable(u))[:MAX_URLS],
        unsupported=tuple(unsupported[:MAX_URLS]),
        must_staple=must_staple,
    )


def find_issuer(
    leaf: x509.Certificate, served: Sequence[x509.Certificate], store: TrustStore
) -> x509.Certificate | None:
    """The certificate whose key signed ``leaf``: one the server sent, or a trusted root."""
    for candidate in [*served, *store.issuers_of(leaf)]:
        if candidate is not leaf and signed_by(leaf, candidate):
            return candidate
    return None


def ocsp_request(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes) -> bytes:
    """A DER OCSP request for ``leaf`` (SHA-1 certificate ID, as RFC 5019 asks) with a nonce."""
    builder = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(leaf, issuer, hashes.SHA1())  # noqa: S303 - the ID RFC 5019 prescribes
        .add_extension(x509.OCSPNonce(nonce), critical=False)
    )
    return builder.build().public_bytes(serialization.Encoding.DER)


def _key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's contents (what OCSP's issuerKeyHash hashes)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    position = 0

    def header(at: int) -> tuple[int, int, int]:  # (tag, content start, content length)
        tag, first = spki[at], spki[at + 1]
        if first < 0x80:
            return tag, at + 2, first
        count = first & 0x7F
        return tag, at + 2 + count, int.from_bytes(spki[at + 2 : at + 2 + count], "big")

    _, position, _ = header(position)  # SubjectPublicKeyInfo SEQUENCE
    _, start, length = header(position)  # AlgorithmIdentifier
    tag, start, length = header(start + length)
    if tag != 0x03:
        raise ValueError("no BIT STRING in the public key")
    return spki[start + 1 : start + length]  # skip the unused-bits octet


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


def _verify_signature(
    key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(signature, data, algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _is_responder(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    try:
        if response.responder_name is not None:
            return response.responder_name == cert.subject
        wanted = response.responder_key_hash
        return wanted is not None and _digest(hashes.SHA1(), _key_bits(cert)) == wanted  # noqa: S303
    except (ValueError, IndexError):
        return False


def _delegated(cert: x509.Certificate, issuer: x509.Certificate, now: datetime.datetime) -> str:
    """Why ``cert`` may not sign OCSP responses for ``issuer``'s certificates ("" if it may)."""
    if not signed_by(cert, issuer):
        return "the responder certificate is not signed by the certificate's issuer"
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        allowed = ExtendedKeyUsageOID.OCSP_SIGNING in list(eku)
    except (x509.ExtensionNotFound, ValueError):
        allowed = False
    if not allowed:
        return "the responder certificate lacks the OCSP signing usage"
    if not cert.not_valid_before_utc - CLOCK_SKEW <= now <= cert.not_valid_after_utc + CLOCK_SKEW:
        return "the responder certificate is not valid now"
    return ""


def _signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime.datetime
) -> tuple[x509.Certificate | None, str]:
    if _is_responder(response, issuer):
        return issuer, ""
    why = "the response is signed neither by the issuer nor by a responder it delegated"
    for cert in list(response.certificates)[:8]:
        if _is_responder(response, cert):
            problem = _delegated(cert, issuer, now)
            if not problem:
                return cert, ""
            why = problem
    return None, why


def _current(
    this_update: datetime.datetime,
    next_update: datetime.datetime | None,
    now: datetime.datetime,
    *,
    lifetime: datetime.timedelta | None,
) -> str:
    """Why an answer issued at ``this_update`` is not current at ``now`` ("" when it is)."""
    if this_update > now + CLOCK_SKEW:
        return f"it was issued in the future ({this_update.isoformat()})"
    if next_update is not None and next_update < now - CLOCK_SKEW:
        return f"it is stale: its nextUpdate was {next_update.isoformat()}"
    if next_update is None and lifetime is not None and this_update + lifetime < now - CLOCK_SKEW:
        return f"it is stale: issued {this_update.isoformat()}, without nextUpdate"
    return ""


def _reason_name(reason: x509.ReasonFlags | None) -> str:
    return reason.value if reason is not None else ""


def judge_ocsp(
    data: bytes,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime.datetime,
    source: str = RESPONDER,
    url: str = "",
    nonce: bytes | None = None,
) -> Answer:
    """What the OCSP response ``data`` establishes about ``leaf`` (see the module docstring)."""

    def invalid(reason: str) -> Answer:
        return Answer(source=source, url=url, status=Status.INVALID, reason=reason)

    try:
        response = ocsp.load_der_ocsp_response(data)
    except ValueError:
        return invalid("it is not a DER-encoded OCSP response")
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return invalid(f"the responder answered '{response.response_status.name.lower()}'")
    try:
        signer, why = _signer(response, issuer, now)
        if signer is None:
            return invalid(why)
        if not _verify_signature(
            signer.public_key(),
            response.signature,
            response.tbs_response_bytes,
            response.signature_hash_algorithm,
        ):
            return invalid("its signature does not verify")
        if nonce is not None:
            try:
                echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            except x509.ExtensionNotFound:
                echoed = None
            if echoed is not None and echoed != nonce:
                return invalid("its nonce is not the one keywire sent (a replayed response)")
        single = _single_for(response, leaf, issuer)
    except (ValueError, UnsupportedAlgorithm) as exc:
        return invalid(f"it cannot be read: {str(exc)[:120]}")
    if single is None:
        return invalid("it is about another certificate")
    this_update, next_update = single.this_update_utc, single.next_update_utc
    stale = _current(this_update, next_update, now, lifetime=NO_NEXT_UPDATE_LIFETIME)
    if stale:
        return Answer(
            source=source,
            url=url,
            status=Status.INVALID,
            reason=stale,
            this_update=this_update,
            next_update=next_update,
        )
    status = {
        ocsp.OCSPCertStatus.GOOD: Status.GOOD,
        ocsp.OCSPCertStatus.REVOKED: Status.REVOKED,
    }.get(single.certificate_status, Status.UNKNOWN)
    revoked = status is Status.REVOKED
    return Answer(
        source=source,
        url=url,
        status=status,
        this_update=this_update,
        next_update=next_update,
        revoked_at=single.revocation_time_utc if revoked else None,
        revocation_reason=_reason_name(single.revocation_reason) if revoked else "",
    )


def _single_for(
    response: ocsp.OCSPResponse, leaf: x509.Certificate, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse | None:
    name = issuer.subject.public_bytes()
    bits = _key_bits(issuer)
    for count, single in enumerate(response.responses):
        if count >= MAX_SINGLE_RESPONSES:
            break
        if single.serial_number != leaf.serial_number:
            continue
        algorithm = single.hash_algorithm
        if single.issuer_name_hash == _digest(algorithm, name) and (
            single.issuer_key_hash == _digest(algorithm, bits)
        ):
            return single
    return None


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    if data.lstrip()[:10] == b"-----BEGIN":
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def judge_crl(
    data: bytes,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime.datetime,
    url: str = "",
) -> Answer:
    """What the CRL ``data`` establishes about ``leaf`` (see the module docstring)."""

    def invalid(reason: str) -> Answer:
        return Answer(source=CRL, url=url, status=Status.INVALID, reason=reason)

    try:
        crl = _load_crl(data)
        if crl.issuer != issuer.subject:
            return invalid("it is issued by another CA than the certificate's issuer")
        try:
            key = issuer.public_key()
            valid = crl.is_signature_valid(key)  # type: ignore[arg-type]
        except (TypeError, UnsupportedAlgorithm, ValueError):
            valid = False
        if not valid:
            return invalid("its signature does not verify with the issuer's key")
        this_update, next_update = crl.last_update_utc, crl.next_update_utc
        stale = _current(this_update, next_update, now, lifetime=None)
        if stale:
            return Answer(
                source=CRL,
                url=url,
                status=Status.INVALID,
                reason=stale,
                this_update=this_update,
                next_update=next_update,
            )
        entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
        reason = ""
        if entry is not None:
            try:
                flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
                reason = _reason_name(flag)
            except (x509.ExtensionNotFound, ValueError):
                reason = ""
    except ValueError as exc:
        return invalid(f"it is not a readable CRL: {str(exc)[:120]}")
    return Answer(
        source=CRL,
        url=url,
        status=Status.REVOKED if entry is not None else Status.GOOD,
        this_update=this_update,
        next_update=next_update,
        revoked_at=entry.revocation_date_utc if entry is not None else None,
        revocation_reason=reason,
    )
