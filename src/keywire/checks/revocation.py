"""Revocation: has the CA revoked the API's certificate?

For the leaf of every chain the TLS scan received (the scan is shared with the ``tls`` family,
not repeated), keywire asks, in this order, and stops at the first believable answer:

1. the **stapled OCSP response** the server sent in the handshake (status_request), if any;
2. the **OCSP responders** the certificate names (Authority Information Access), with a POST of
   an RFC 6960 request carrying a nonce;
3. the **CRLs** the certificate names (CRL distribution points).

Each answer is checked before it is believed (:mod:`keywire.tls.revocation`): it must be about
this certificate, signed by its issuer (or a responder the issuer delegated), and current.

Steps 2 and 3 are the only requests keywire sends beyond the scanned hosts. They carry no
credential (never the user's headers, no cookies), read at most 64 KiB (OCSP) or 10 MiB (CRL),
follow no redirect, and are bounded by ``--timeout`` like every request (and all the lookups
for one certificate together by four times ``--timeout``). A certificate cannot
steer them into the scanner's own network: an address that is link-local (cloud metadata) is
never fetched, a loopback one only when the target itself is on loopback, a private one only
when the target is private or loopback. ``--offline`` turns them off: the stapled response is
then the only source.

Verdicts: a revoked certificate is KW616 (high). A stapled response that cannot be believed
(stale, badly signed, about another certificate) is KW617; a responder that does not know the
certificate, KW618; an OCSP Must-Staple certificate served without a stapled response, KW619.
When no source gives a believable answer because responders could not be reached (or answered
nonsense), the check is *not tested*, never "not revoked".
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from .._dataclass import dataclass
from .._models import Finding, Rule, Severity
from ..redact import redact_url
from ..tls.revocation_facts import Answer
from . import tls
from ._base import Family, not_applicable, not_tested
from ._tls_rules import encryption_rule

_RFC6960 = "https://www.rfc-editor.org/rfc/rfc6960"
_RFC5280 = "https://www.rfc-editor.org/rfc/rfc5280#section-5"
_CWE299 = "https://cwe.mitre.org/data/definitions/299.html"
_FLASK_REPLACE = """\
# A new key pair and a new certificate for it (e.g. certbot renew --force-renewal
# --no-reuse-key), then reload the server with them:
context.load_cert_chain("fullchain.pem", "privkey.pem")
"""
_FLASK_STAPLE = """\
# Flask's own server cannot staple OCSP; the TLS terminator in front of it can, e.g. nginx:
#   ssl_stapling on;
#   ssl_stapling_verify on;
#   ssl_trusted_certificate /etc/ssl/chain.pem;
"""


def _rule(
    rule_id: str,
    title: str,
    severity: Severity,
    description: str,
    remediation: str,
    references: tuple[str, ...],
    *,
    cwe: tuple[int, ...] = (299,),
    grade_cap: str | None = None,
    flask_fix: str = _FLASK_STAPLE,
) -> Rule:
    return encryption_rule(
        rule_id, title, cwe, severity, description, remediation, references,
        grade_cap=grade_cap, flask_fix=flask_fix, module=__name__,
    )  # fmt: skip


CERT_REVOKED = _rule(
    "KW616",
    "Certificate has been revoked",
    Severity.HIGH,
    "The certificate authority has revoked the server's certificate (its OCSP responder or CRL "
    "says so, in an answer signed by the issuer). CAs revoke when the private key is "
    "compromised or the certificate was mis-issued: whoever holds the key can impersonate the "
    "API to every client that does not check revocation, and the clients that do check refuse "
    "to connect.",
    "Replace the certificate now with one issued for a new key pair, find out why it was "
    "revoked (a leaked key must be assumed in use), and remove the old key everywhere.",
    (_RFC6960, _RFC5280, _CWE299),
    cwe=(299, 295),
    grade_cap="C",
    flask_fix=_FLASK_REPLACE,
)
STAPLE_INVALID = _rule(
    "KW617",
    "Stapled OCSP response cannot be trusted",
    Severity.LOW,
    "The server staples an OCSP response to its handshake that clients cannot use: it is "
    "stale (past its nextUpdate), not signed by the certificate's issuer or a responder it "
    "delegated, about another certificate, or an error answer. Clients fall back to asking the "
    "CA themselves (slower, and a privacy leak), or, with Must-Staple, refuse the connection.",
    "Let the TLS terminator fetch and refresh the response itself (nginx `ssl_stapling on`, "
    "Apache `SSLUseStapling on`) instead of serving a response file, and monitor its age.",
    (_RFC6960, "https://www.rfc-editor.org/rfc/rfc6066#section-8"),
)
STATUS_UNKNOWN = _rule(
    "KW618",
    "OCSP responder does not know the certificate",
    Severity.LOW,
    "The OCSP responder the certificate names answers 'unknown' for it: the CA has no record "
    "of issuing it, or the responder is out of date. Clients that require an answer refuse the "
    "certificate; a certificate its own CA does not know may not have been issued by that CA at "
    "all.",
    "Check with the CA that the certificate is theirs and that its responder serves it; reissue "
    "the certificate if the CA cannot vouch for it.",
    (_RFC6960 + "#section-2.2", _CWE299),
    flask_fix=_FLASK_REPLACE,
)
MUST_STAPLE_MISSING = _rule(
    "KW619",
    "OCSP Must-Staple certificate served without a stapled response",
    Severity.MEDIUM,
    "The certificate carries the TLS feature extension that promises a stapled OCSP response "
    "(OCSP Must-Staple, RFC 7633), but the server sends none. Clients that honour the promise, "
    "Firefox among them, refuse the connection.",
    "Turn OCSP stapling on in the TLS terminator (nginx `ssl_stapling on`) and make sure it can "
    "reach the CA's responder, or stop requesting Must-Staple certificates.",
    ("https://www.rfc-editor.org/rfc/rfc7633", _RFC6960),
)

RULES = (CERT_REVOKED, STAPLE_INVALID, STATUS_UNKNOWN, MUST_STAPLE_MISSING)


@dataclass(frozen=True, kw_only=True)
class LeafRevocation:
    """What keywire learned about one leaf certificate's revocation."""

    subject: str
    serial: str
    sha256: str
    ocsp_urls: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    must_staple: bool = False
    stapled: bool = False
    answers: tuple[Answer, ...] = ()
    #: Why no source could be asked at all ("" when some could).
    skipped: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "serial": self.serial,
            "ocsp_urls": [redact_url(u) for u in self.ocsp_urls],
            "crl_urls": [redact_url(u) for u in self.crl_urls],
            **({"unsupported_urls": list(self.unsupported)} if self.unsupported else {}),
            "must_staple": self.must_staple,
            "stapled": self.stapled,
            "answers": [
                {**a.to_json(), **({"url": redact_url(a.url)} if a.url else {})}
                for a in self.answers
            ],
            **({"skipped": self.skipped} if self.skipped else {}),
        }


@dataclass(frozen=True, kw_only=True)
class RevocationObservation:
    """What the revocation probe learnt about a target's certificates."""

    target: str
    endpoint: str = ""
    leaves: tuple[LeafRevocation, ...] = ()
    offline: bool = False
    #: Whether the TLS scan completed the handshakes that would have shown a stapled response.
    stapling_known: bool = False
    skipped: str = ""
    failure: str = ""
    counterpart: bool = False


# -- probe ------------------------------------------------------------------------------------


# -- check ------------------------------------------------------------------------------------


def _when(value: datetime.datetime | None) -> str:
    return value.date().isoformat() if value is not None else "an unknown date"


def _leaf_findings(obs: RevocationObservation, leaf: LeafRevocation) -> tuple[list[Finding], str]:
    """The findings about one leaf, and why its status is unknown ("" when it is known)."""
    from ..tls.revocation_facts import STAPLED, Status

    found: list[Finding] = []
    where = f"certificate:{leaf.sha256[:16]}"
    evidence = {"endpoint": obs.endpoint, "subject": leaf.subject, "serial": leaf.serial}

    def add(rule: Rule, message: str, location: str, extra: Mapping[str, str]) -> None:
        found.append(
            rule.finding(
                target=obs.target,
                message=f"{obs.endpoint}: {message}",
                evidence={**evidence, **extra},
                location=location,
            )
        )

    if leaf.must_staple and not leaf.stapled and obs.stapling_known:
        add(
            MUST_STAPLE_MISSING,
            f"'{leaf.subject}' requires a stapled OCSP response (Must-Staple), and the server "
            "sends none.",
            f"{where}:must-staple",
            {},
        )
    for answer in leaf.answers:
        if answer.source == STAPLED and answer.status is Status.INVALID:
            add(
                STAPLE_INVALID,
                f"the stapled OCSP response for '{leaf.subject}' cannot be trusted: "
                f"{answer.reason}.",
                f"{where}:staple",
                {"reason": answer.reason},
            )
    revoked = next((a for a in leaf.answers if a.status is Status.REVOKED), None)
    if revoked is not None:
        why = f" ({revoked.revocation_reason})" if revoked.revocation_reason else ""
        add(
            CERT_REVOKED,
            f"'{leaf.subject}' was revoked on {_when(revoked.revoked_at)}{why}, says the "
            f"{redact_url(revoked.label)}.",
            f"{where}:revoked",
            {
                "source": revoked.source,
                **({"url": redact_url(revoked.url)} if revoked.url else {}),
                "revoked_at": revoked.revoked_at.isoformat() if revoked.revoked_at else "",
                "revocation_reason": revoked.revocation_reason,
            },
        )
        return found, ""
    if any(a.status is Status.GOOD for a in leaf.answers):
        return found, ""
    unknown = next((a for a in leaf.answers if a.status is Status.UNKNOWN), None)
    if unknown is not None:
        add(
            STATUS_UNKNOWN,
            f"the {redact_url(unknown.label)} answers 'unknown' for '{leaf.subject}'.",
            f"{where}:unknown",
            {"source": unknown.source, "url": redact_url(unknown.url)},
        )
        return found, ""
    tried = [a for a in leaf.answers if a.source != STAPLED]
    if tried:
        reasons = "; ".join(f"{redact_url(a.label)}: {a.reason}" for a in tried)
        return found, f"no believable answer about '{leaf.subject}' ({reasons})"
    return found, ""  # nothing was asked: skipped, --offline, or no source (see check())


def check(obs: RevocationObservation) -> Sequence[Finding]:
    if obs.skipped:
        raise not_applicable(obs.skipped)
    if obs.failure:
        if obs.counterpart:
            raise not_applicable(f"no TLS service at {obs.endpoint}: {obs.failure}")
        raise not_tested(f"no certificate to check: {obs.failure}")
    if not obs.leaves:
        raise not_tested(f"the TLS scan of {obs.endpoint} obtained no readable certificate")
    findings: list[Finding] = []
    unknown: list[str] = []
    for leaf in obs.leaves:
        found, why = _leaf_findings(obs, leaf)
        findings.extend(found)
        if why:
            unknown.append(why)
    if unknown:
        raise not_tested("revocation status unknown: " + "; ".join(unknown), findings=findings)
    if findings or any(_answered(leaf) for leaf in obs.leaves):
        return findings
    skipped = [leaf.skipped for leaf in obs.leaves if leaf.skipped]
    if skipped:
        raise not_applicable(skipped[0])
    if obs.offline and any(leaf.ocsp_urls or leaf.crl_urls for leaf in obs.leaves):
        raise not_applicable(
            "--offline: the server staples no OCSP response, and keywire does not ask the "
            "CA's responder or CRL"
        )
    raise not_applicable("the certificate names no OCSP responder or CRL, and none is stapled")


def _answered(leaf: LeafRevocation) -> bool:
    """Some source gave a believable answer (good, revoked or unknown)."""
    from ..tls.revocation_facts import Status

    return any(a.status in (Status.GOOD, Status.REVOKED, Status.UNKNOWN) for a in leaf.answers)


def details(obs: RevocationObservation) -> Mapping[str, object]:
    if obs.skipped or obs.failure:
        return {"endpoint": obs.endpoint, "error": obs.failure or obs.skipped}
    return {
        "endpoint": obs.endpoint,
        "offline": obs.offline,
        "certificates": [leaf.to_json() for leaf in obs.leaves],
    }


FAMILY: Family[RevocationObservation] = Family(
    name="revocation",
    title="Certificate revocation (stapled OCSP, OCSP responders, CRLs)",
    group="tls",
    observation=RevocationObservation,
    check=check,
    details=details,
    inapplicable=tls.inapplicable,
)
