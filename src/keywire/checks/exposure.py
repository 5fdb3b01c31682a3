"""Secrets exposed in responses: keys, private keys and tokens in headers and bodies.

Every response keywire receives for a target (both sides, every redirect hop, and the authenticated
request when credentials were given) is searched with the secret catalogue
(:mod:`keywire.secrets`). Matches are redacted where they are found: findings carry a prefix, the
last four characters and a SHA-256 fingerprint, never the value. Found keys are never tried
against any service.

Rules: KW701 (provider API key or secret), KW702 (private key), KW703 (JSON Web Token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.http import HttpResponse
from ..redact import redact_url
from ..secrets import SecretHit, SecretKind, find_secrets
from ._base import Family, ProbeContext, not_applicable

_CWE200 = "https://cwe.mitre.org/data/definitions/200.html"

PROVIDER_SECRET = Rule(
    id="KW701",
    title="API key or secret in a known format exposed in a response",
    cwe=(200, 798),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.HIGH,
    description=(
        "A response contains a credential in a recognisable format: a cloud or SaaS provider's "
        "key (AWS, Stripe, GitHub, Slack, Google, OpenAI, …) or the API's own flask_keywire key. "
        "Anyone who can call the endpoint can copy it and act as its owner."
    ),
    remediation=(
        "Revoke and rotate the exposed credential at the provider now, then remove it from the "
        "response (and from the code or configuration that put it there: keep secrets in a "
        "secret store, read at runtime)."
    ),
    references=(_CWE200, "https://cwe.mitre.org/data/definitions/798.html"),
)

PRIVATE_KEY = Rule(
    id="KW702",
    title="Private key exposed in a response",
    cwe=(312, 200),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.HIGH,
    description=(
        "A response contains a PEM-encoded private key. Whoever holds it can impersonate the "
        "service it belongs to or decrypt what was encrypted to it."
    ),
    remediation="Treat the key as compromised: replace it (and its certificate), then remove it from the response.",
    references=("https://cwe.mitre.org/data/definitions/312.html", _CWE200),
)

JWT_EXPOSED = Rule(
    id="KW703",
    title="JSON Web Token exposed in a response",
    cwe=(200,),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.LOW,
    description=(
        "A response keywire obtained contains a JSON Web Token. If it is a live session or API "
        "token, anyone who receives this response can use it until it expires."
    ),
    remediation=(
        "Return tokens only to the client they were issued to, from an authenticated request, "
        "with `Cache-Control: no-store`; never embed them in public responses or error pages."
    ),
    references=(_CWE200, "https://www.rfc-editor.org/rfc/rfc8725"),
)

RULES = (PROVIDER_SECRET, PRIVATE_KEY, JWT_EXPOSED)
_RULE_BY_KIND = {
    SecretKind.API_KEY: PROVIDER_SECRET,
    SecretKind.PRIVATE_KEY: PRIVATE_KEY,
    SecretKind.TOKEN: JWT_EXPOSED,
}


@dataclass(frozen=True, kw_only=True)
class ExposureObservation:
    target: str
    responses_seen: int
    hits: tuple[tuple[str, SecretHit], ...]


def scan_response(response: HttpResponse) -> list[SecretHit]:
    """Search a response's headers and body; cookies are searched for keys, not for JWTs."""
    hits: list[SecretHit] = []
    for name, value in response.headers:
        found = find_secrets(f"{name}: {value}", where=f"header {name}")
        if name.lower() == "set-cookie":
            found = [h for h in found if h.type.kind is not SecretKind.TOKEN]
        hits.extend(found)
    hits.extend(find_secrets(response.body.decode("utf-8", "replace"), where="body"))
    return hits


async def probe(ctx: ProbeContext) -> ExposureObservation:
    responses = await ctx.responses()
    hits: list[tuple[str, SecretHit]] = []
    for response in responses:
        hits.extend((response.url, hit) for hit in scan_response(response))
    return ExposureObservation(
        target=ctx.target.url, responses_seen=len(responses), hits=tuple(hits)
    )


def check(obs: ExposureObservation) -> Sequence[Finding]:
    if obs.responses_seen == 0:
        raise not_applicable("no HTTP response to examine")
    findings: dict[str, Finding] = {}
    for url, hit in obs.hits:
        rule = _RULE_BY_KIND[hit.type.kind]
        confidence = Confidence.HIGH if hit.type.validate is not None else Confidence.MEDIUM
        finding = rule.finding(
            target=obs.target,
            message=f"{hit.type.name} in the {hit.where} of {redact_url(url)}.",
            evidence={
                "type": hit.type.name,
                "value": str(hit.redacted),
                "where": hit.where,
                "url": redact_url(url),
            },
            confidence=confidence,
            location=f"{hit.type.id}:{hit.redacted.sha256[:16]}",
        )
        findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


FAMILY: Family[ExposureObservation] = Family(
    name="exposure",
    title="Secrets exposed in responses",
    group="http",
    rules=RULES,
    probe=probe,
    check=check,
)
