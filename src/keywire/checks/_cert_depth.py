"""Certificate checks beyond trust: expiry ahead, a leaf that outlives its issuer, extended key
usage, names only in the common name, and chains too large for common clients.

These are pure functions of a :class:`~keywire.tls.certs.ChainAnalysis`, applied by the ``tls``
family to every chain the server sent:

- **Expiry ahead** (KW620): a certificate of the path (leaf or served intermediate) that expires
  within 30 days is medium, within 7 days high. An expired one is KW601.
- **Leaf outlives its issuer** (KW621): the leaf's notAfter is later than its issuer's; clients
  refuse the chain from the day the issuer expires, whatever the leaf says.
- **Extended key usage** (KW622, KW623): a leaf (or served intermediate) whose extended key usage
  does not include serverAuth is refused by every client; a leaf without the extension at all is
  refused by Apple's platforms (certificates issued since July 2019) while others accept it.
- **Names only in the common name** (KW624): no subjectAltName extension. Browsers and current
  TLS libraries match names in subjectAltName only (Chrome since version 58, Firefox since 48,
  Python since 3.7), so the certificate matches no name at all.
- **Chain too large** (KW625): a Certificate message over 100 KiB, OpenSSL's default
  ``max_cert_list``, so clients built on OpenSSL (curl, Python, Ruby, PHP, Node.js) abort the
  handshake with "excessive message size" although keywire reads it. An interoperability risk,
  reported as a finding, not as a scan failure.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from .._models import Rule, Severity
from ..tls.certfacts import CertInfo, ChainAnalysis
from ._tls_rules import _BR, _RFC5280, encryption_rule

EXPIRY_WARNING_DAYS = 30
EXPIRY_URGENT_DAYS = 7
#: OpenSSL's default limit on a peer's certificate list (SSL_CTX_set_max_cert_list).
OPENSSL_MAX_CERT_LIST = 100 * 1024

_APPLE_EKU = "https://support.apple.com/en-us/103769"
_FLASK_RENEW = """\
# Renew automatically well before expiry, e.g. certbot's timer, and reload the server after:
#   certbot renew --deploy-hook "systemctl reload nginx"
context.load_cert_chain("fullchain.pem", "privkey.pem")
"""
_FLASK_REISSUE = """\
# Reissue the certificate with the server profile, e.g. with openssl:
#   subjectAltName = DNS:api.example.com
#   extendedKeyUsage = serverAuth
#   basicConstraints = critical,CA:FALSE
context.load_cert_chain("fullchain.pem", "privkey.pem")
"""


def _rule(
    rule_id: str,
    title: str,
    cwe: tuple[int, ...],
    severity: Severity,
    description: str,
    remediation: str,
    references: tuple[str, ...],
    flask_fix: str = _FLASK_REISSUE,
) -> Rule:
    return encryption_rule(
        rule_id,
        title,
        cwe,
        severity,
        description,
        remediation,
        references,
        flask_fix=flask_fix,
        module=__name__,
    )


CERT_EXPIRES_SOON = _rule(
    "KW620",
    "Certificate expires within 30 days",
    (298, 295),
    Severity.MEDIUM,
    "A certificate of the served chain expires within 30 days (the finding is high within 7 "
    "days). When it does, every client refuses the API, and the usual emergency fix, turning "
    "verification off in clients, opens the API to impersonation.",
    "Renew the certificate now, and automate renewal (ACME renews at two thirds of the lifetime) "
    "with monitoring that alerts 30 days before any certificate in the chain expires.",
    (
        _RFC5280,
        "https://www.rfc-editor.org/rfc/rfc8555",
        "https://cwe.mitre.org/data/definitions/298.html",
    ),
    flask_fix=_FLASK_RENEW,
)
CERT_OUTLIVES_ISSUER = _rule(
    "KW621",
    "Certificate is valid longer than its issuer",
    (298,),
    Severity.LOW,
    "The server's certificate is valid after its issuer expires. Clients validate the whole "
    "path at the time of use, so the API's certificate stops working on the issuer's expiry "
    "date, not on its own: monitoring that watches the leaf's date is caught out.",
    "Reissue the certificate from a CA certificate that outlives it (CAs do this by rotating "
    "their issuing intermediates in time), and monitor the expiry of every certificate in the "
    "chain.",
    (_RFC5280, _BR),
    flask_fix=_FLASK_RENEW,
)
CERT_EKU_MISUSED = _rule(
    "KW622",
    "Certificate's extended key usage does not allow TLS servers",
    (295,),
    Severity.HIGH,
    "The server's certificate (or an intermediate of its chain) has an extended key usage "
    "extension without id-kp-serverAuth, for example a client, code-signing or e-mail "
    "certificate. Every verifying client refuses it; clients that connect anyway have had "
    "verification turned off.",
    "Issue the server certificate with `extendedKeyUsage = serverAuth` (and intermediates with "
    "serverAuth among their usages, or without the extension).",
    (_RFC5280 + "#section-4.2.1.12", _BR),
)
CERT_EKU_MISSING = _rule(
    "KW623",
    "Certificate has no extended key usage extension",
    (295,),
    Severity.LOW,
    "The server's certificate has no extended key usage extension. RFC 5280 reads that as "
    "'any usage', and OpenSSL-based clients accept it, but Apple's platforms refuse TLS server "
    "certificates issued since July 2019 without id-kp-serverAuth, and the CA/Browser Forum "
    "requires it: iOS and macOS clients of the API fail to connect.",
    "Reissue the certificate with `extendedKeyUsage = serverAuth`.",
    (_APPLE_EKU, _BR, _RFC5280 + "#section-4.2.1.12"),
)
CERT_CN_ONLY = _rule(
    "KW624",
    "Certificate names the host only in its common name (no subjectAltName)",
    (295, 297),
    Severity.HIGH,
    "The server's certificate has no subjectAltName extension, only a common name. Browsers "
    "(Chrome since 58, Firefox since 48, Safari) and current TLS libraries (Python since 3.7, Go "
    "since 1.15, rustls) match host names against subjectAltName only, so they refuse the "
    "certificate for every name; clients are pushed to turn verification off.",
    "Reissue the certificate with every name (and IP address) of the API in its "
    "subjectAltName, e.g. `subjectAltName = DNS:api.example.com`.",
    ("https://www.rfc-editor.org/rfc/rfc6125#section-6.4.4", _BR),
)
CHAIN_TOO_LARGE = _rule(
    "KW625",
    "Certificate chain too large for OpenSSL-based clients",
    (400,),
    Severity.LOW,
    "The server's Certificate message is larger than 100 KiB, the default limit of OpenSSL "
    "(SSL_CTX_set_max_cert_list). Clients built on it (curl, Python, Ruby, PHP, Node.js) abort "
    "the handshake with 'excessive message size', and every client spends memory and time on "
    "each connection. Typical causes are certificates with thousands of subjectAltNames or "
    "chains padded with unneeded certificates.",
    "Serve only the leaf and the intermediates needed to reach a root, and split certificates "
    "with very many names into several, each for one group of hosts.",
    (
        "https://docs.openssl.org/3.0/man3/SSL_CTX_set_max_cert_list/",
        "https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2",
    ),
)

RULES: tuple[Rule, ...] = (
    CERT_EXPIRES_SOON,
    CERT_OUTLIVES_ISSUER,
    CERT_EKU_MISUSED,
    CERT_EKU_MISSING,
    CERT_CN_ONLY,
    CHAIN_TOO_LARGE,
)

Add = Callable[..., None]
"""``add(rule, message, location, evidence, severity=None)``: how findings are handed back."""


def certificate_message_bytes(certificates: tuple[CertInfo, ...]) -> int:
    """The size of a TLS 1.2 Certificate handshake message carrying ``certificates``."""
    return 4 + 3 + sum(3 + c.der_bytes for c in certificates)


def _days(delta: datetime.timedelta) -> str:
    days = delta.days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = max(0, int(delta.total_seconds() // 3600))
    return f"{hours} hour{'s' if hours != 1 else ''}"


def check_chain(chain: ChainAnalysis, where: str, add: Add) -> bool:
    """Apply this module's rules to ``chain``; True when a finding explains a failed verification.

    ``where`` is the chain's location prefix (``certificate:<sha256 prefix>``).
    """
    leaf = chain.leaf
    if leaf is None:
        return False
    explained = False
    now = chain.checked_at
    path = [c for c in chain.in_path() if not (c.subject == c.issuer and c.is_ca)] or [leaf]
    for cert in path:
        left = cert.not_after - now
        if datetime.timedelta(0) <= left < datetime.timedelta(days=EXPIRY_WARNING_DAYS):
            urgent = left < datetime.timedelta(days=EXPIRY_URGENT_DAYS)
            add(
                CERT_EXPIRES_SOON,
                f"certificate '{cert.subject}' expires on {cert.not_after.date().isoformat()} "
                f"(in {_days(left)}).",
                f"{where}:{cert.sha256[:16]}:expiry",
                {
                    "subject": cert.subject,
                    "not_after": cert.not_after.isoformat(),
                    "days_left": str(left.days),
                },
                severity=Severity.HIGH if urgent else None,
            )
    issuer_end = _issuer_not_after(chain)
    # An issuer already expired is KW601; this is about the date ahead.
    if issuer_end is not None and leaf.not_after > issuer_end > now:
        add(
            CERT_OUTLIVES_ISSUER,
            f"'{leaf.subject}' is valid until {leaf.not_after.date().isoformat()}, but its issuer "
            f"only until {issuer_end.date().isoformat()}.",
            f"{where}:outlives-issuer",
            {
                "subject": leaf.subject,
                "not_after": leaf.not_after.isoformat(),
                "issuer": leaf.issuer,
                "issuer_not_after": issuer_end.isoformat(),
            },
        )
    for cert in path:
        if cert.server_auth:
            continue
        usages = ", ".join(cert.extended_key_usage or ())
        add(
            CERT_EKU_MISUSED,
            f"'{cert.subject}' has extended key usage {usages}, without serverAuth.",
            f"{where}:{cert.sha256[:16]}:eku",
            {"subject": cert.subject, "extended_key_usage": usages},
        )
        explained = True
    if leaf.extended_key_usage is None:
        add(
            CERT_EKU_MISSING,
            f"'{leaf.subject}' has no extended key usage extension.",
            f"{where}:eku-missing",
            {"subject": leaf.subject},
        )
    if not leaf.has_san:
        cn = leaf.common_name
        matches = bool(cn) and cn.rstrip(".").lower() == chain.hostname.rstrip(".").lower()
        detail = (
            f"its common name '{cn}' is the host, but clients ignore it"
            if matches
            else f"its common name is '{cn}'"
            if cn
            else "nor a common name"
        )
        add(
            CERT_CN_ONLY,
            f"'{leaf.subject}' has no subjectAltName: {detail}.",
            f"{where}:no-san",
            {"subject": leaf.subject, "common_name": cn, "host": chain.hostname},
        )
        explained = True
    size = certificate_message_bytes(chain.certificates)
    if size > OPENSSL_MAX_CERT_LIST:
        largest = max(chain.certificates, key=lambda c: c.der_bytes)
        add(
            CHAIN_TOO_LARGE,
            f"the Certificate message is {size:,} bytes ({len(chain.certificates)} "
            f"certificate(s); '{largest.subject}' alone is {largest.der_bytes:,} bytes with "
            f"{len(largest.dns_names) + len(largest.ip_addresses):,} names), over OpenSSL's "
            f"default limit of {OPENSSL_MAX_CERT_LIST:,}.",
            f"{where}:size",
            {
                "message_bytes": str(size),
                "certificates": str(len(chain.certificates)),
                "largest_names": str(len(largest.dns_names) + len(largest.ip_addresses)),
            },
        )
    return explained


def _issuer_not_after(chain: ChainAnalysis) -> datetime.datetime | None:
    """When the leaf's issuer expires: the next certificate of the path, or the anchor."""
    leaf = chain.leaf
    if leaf is None or leaf.subject == leaf.issuer:
        return None
    path = chain.in_path()
    if len(path) >= 2 and path[1].subject == leaf.issuer:
        return path[1].not_after
    if len(path) == 1 and chain.anchor == leaf.issuer:
        return chain.anchor_not_after
    return None
