"""The facts of served certificates, as the checks read them: plain values, no cryptography.

:mod:`keywire.tls.certs` parses and verifies chains (with ``cryptography``) and returns these;
the checks (and ``keywire judge``, from a saved observation) use them without loading it.
"""

from __future__ import annotations

import datetime

from .._dataclass import dataclass

#: Netscape and Microsoft Server Gated Crypto, which OpenSSL accepts in place of serverAuth.
SGC_NAMES = ("nsSGC", "msSGC")


@dataclass(frozen=True, kw_only=True)
class CertInfo:
    """The facts of one certificate that the report shows and the checks use."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    key_type: str
    key_bits: int
    signature_algorithm: str
    signature_hash: str | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    sha256: str
    sha1: str
    is_ca: bool
    #: The subject's common name ("" when it has none).
    common_name: str = ""
    #: Whether the certificate has a subjectAltName extension at all (clients ignore the CN).
    has_san: bool = True
    #: The extended key usages by name (``serverAuth``...), None when the extension is absent.
    #: (The defaults of these fields describe an ordinary server certificate: :func:`describe`
    #: always sets them.)
    extended_key_usage: tuple[str, ...] | None = ("serverAuth",)
    #: The size of the DER encoding, in bytes.
    der_bytes: int = 0

    @property
    def lifetime_days(self) -> int:
        return (self.not_after - self.not_before).days

    @property
    def server_auth(self) -> bool:
        """Whether the extended key usage, if present, allows TLS server authentication."""
        usages = self.extended_key_usage
        return usages is None or bool({"serverAuth", *SGC_NAMES} & set(usages))

    def to_json(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key": f"{self.key_type} {self.key_bits}",
            "signature_algorithm": self.signature_algorithm,
            "dns_names": list(self.dns_names),
            "ip_addresses": list(self.ip_addresses),
            "sha256": self.sha256,
            "sha1": self.sha1,
            **(
                {"extended_key_usage": list(self.extended_key_usage)}
                if self.extended_key_usage is not None
                else {}
            ),
        }


@dataclass(frozen=True, kw_only=True)
class ChainAnalysis:
    """One served chain, checked against a store at a time, for a host name.

    ``path`` says how far keywire's own path building got: ``trusted`` (to a root in the
    store), ``untrusted_root`` (to a self-signed certificate not in the store), ``self_signed``
    (the leaf signs itself), ``incomplete`` (an issuer was neither sent nor in the store, but
    the certificate names where to fetch it), ``unknown_issuer`` (the same without that URL) or
    ``unparsable``.
    """

    seen_with: str
    hostname: str
    checked_at: datetime.datetime
    certificates: tuple[CertInfo, ...]
    trusted: bool
    verify_error: str = ""
    path: str = "trusted"
    path_length: int = 0
    anchor: str = ""
    hostname_matches: bool = True
    parse_error: str = ""
    #: Where a chain that OpenSSL-based clients trust breaks the strict profile, in words.
    deviations: tuple[str, ...] = ()
    #: The notAfter of the trust anchor that ends the path (None without one).
    anchor_not_after: datetime.datetime | None = None

    @property
    def leaf(self) -> CertInfo | None:
        return self.certificates[0] if self.certificates else None

    def in_path(self) -> tuple[CertInfo, ...]:
        """The served certificates that the path uses, leaf first (the anchor excluded)."""
        return self.certificates[: self.path_length]

    def to_json(self) -> dict[str, object]:
        return {
            "seen_with": self.seen_with,
            "certificates": [c.to_json() for c in self.certificates],
            "validation": {
                "hostname": self.hostname,
                "trusted": self.trusted,
                "error": self.verify_error,
                "path": self.path,
                "anchor": self.anchor,
                "hostname_matches": self.hostname_matches,
                "checked_at": self.checked_at.isoformat(),
                **({"strict_profile_deviations": list(self.deviations)} if self.deviations else {}),
            },
            **({"parse_error": self.parse_error} if self.parse_error else {}),
        }


__all__ = ["SGC_NAMES", "CertInfo", "ChainAnalysis"]
