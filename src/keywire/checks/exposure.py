"""Secrets exposed in responses: keys, private keys and tokens in headers and bodies.

Every response keywire receives for a target (both sides, every redirect hop, and the authenticated
request when credentials were given), the target host's not-found page and up to five same-host
scripts linked from its HTML (:mod:`keywire.probes._sources`) are searched with the secret catalogue
(:mod:`keywire.secrets`), and so are ``Location`` URLs after percent-decoding. Matches are redacted where they are found: findings carry a prefix, the
last four characters and a SHA-256 fingerprint, never the value. Found keys are never tried
against any service.

Rules: KW701 (provider API key or secret), KW702 (private key), KW703 (JSON Web Token), KW706
(an unsigned JWT, ``alg: none``), KW708 (a credential in the query string of a redirect URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import HttpResponse
from ..redact import Redacted, redact, redact_url
from ..secrets import SecretHit, SecretKind, find_secrets
from ._base import (
    CANARY_PREFIX,
    Family,
    Isolation,
    internal_error,
    not_applicable,
    not_tested,
)

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

JWT_ALG_NONE = Rule(
    id="KW706",
    title="Unsigned JSON Web Token (alg: none) in a response",
    cwe=(347,),
    owasp_api="API2:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.HIGH,
    description=(
        "A response contains a JWT whose header says `alg: none`: it carries no signature. If "
        "the API issues or accepts such tokens, anyone can forge one with any claims (any user, "
        "any role) and be believed."
    ),
    remediation=(
        "Sign every token (EdDSA, ES256 or RS256), and configure the verifying side with an "
        "explicit allow-list of algorithms that does not include `none`."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/347.html",
        "https://www.rfc-editor.org/rfc/rfc8725#section-3.1",
    ),
)

CREDENTIAL_IN_LOCATION = Rule(
    id="KW708",
    title="Credential in the query string of a redirect URL",
    cwe=(598,),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "A `Location` header sends the client to a URL with a key, token, secret or password in "
        "its query string. The URL is then stored in browser history, server and proxy logs, and "
        "sent onwards in Referer headers."
    ),
    remediation=(
        "Never put credentials in redirect URLs: hand them over in a response body or a header "
        "over HTTPS (OAuth 2.0 uses short-lived, single-use codes for exactly this reason)."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/598.html",
        "https://www.rfc-editor.org/rfc/rfc9700#section-4.3.2",
    ),
)

RULES = (PROVIDER_SECRET, PRIVATE_KEY, JWT_EXPOSED, JWT_ALG_NONE, CREDENTIAL_IN_LOCATION)

#: Query parameters that carry long-lived credentials (short-lived signatures are not listed).
CREDENTIAL_PARAMETERS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "auth",
        "auth_token",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "private_token",
        "session",
        "sessionid",
        "session_id",
        "jwt",
    }
)
_RULE_BY_KIND = {
    SecretKind.API_KEY: PROVIDER_SECRET,
    SecretKind.PRIVATE_KEY: PRIVATE_KEY,
    SecretKind.TOKEN: JWT_EXPOSED,
}


@dataclass(frozen=True, kw_only=True)
class LocationCredential:
    """A credential-like query parameter in a redirect URL (the value is only kept redacted)."""

    url: str  # the response that redirected (redacted form is used in findings)
    location: str  # redacted
    parameter: str
    value: Redacted


@dataclass(frozen=True, kw_only=True)
class ExposureObservation:
    target: str
    responses_seen: int
    hits: tuple[tuple[str, SecretHit], ...]
    location_credentials: tuple[LocationCredential, ...] = ()
    #: Failures keywire isolated while searching (see checks._base.Isolation).
    internal_errors: tuple[str, ...] = ()


def location_credentials(response: HttpResponse) -> list[LocationCredential]:
    """Credential-like query parameters in the response's ``Location`` URL."""
    location = response.location
    if location is None:
        return []
    found: list[LocationCredential] = []
    try:
        query = urlsplit(location).query
    except ValueError:
        return []
    for name, value in parse_qsl(query, keep_blank_values=False):
        if name.lower() not in CREDENTIAL_PARAMETERS or len(value) < 8:
            continue
        if value.startswith(CANARY_PREFIX):
            continue  # our own canary, reflected: the cleartext and query-key checks cover it
        found.append(
            LocationCredential(
                url=response.url,
                location=redact_url(location),
                parameter=name,
                value=redact(value),
            )
        )
    return found


def scan_response(response: HttpResponse, errors: list[str] | None = None) -> list[SecretHit]:
    """Search a response's headers and body; cookies are searched for keys, not for JWTs.

    With ``errors``, a candidate whose validation fails is recorded there and the others are
    still found (see :func:`keywire.secrets.find_secrets`).
    """
    hits: list[SecretHit] = []
    for name, value in response.headers:
        found = find_secrets(f"{name}: {value}", where=f"header {name}", errors=errors)
        if name.lower() == "set-cookie":
            found = [h for h in found if h.type.kind is not SecretKind.TOKEN]
        hits.extend(found)
    location = response.header("location")
    if location is not None and unquote(location) != location:
        hits.extend(find_secrets(unquote(location), where="Location URL (decoded)", errors=errors))
    where = "script" if response.probe == "linked-script" else "body"
    if response.probe == "not-found-page":
        where = "error page"
    hits.extend(find_secrets(response.body.decode("utf-8", "replace"), where=where, errors=errors))
    return hits


def check(obs: ExposureObservation) -> Sequence[Finding]:
    if obs.responses_seen == 0:
        raise not_applicable("no HTTP response to examine")
    findings: dict[str, Finding] = {}
    isolation = Isolation()
    for url, hit in obs.hits:
        with isolation.item(f"reporting a {hit.type.id} hit"):
            _report_hit(obs, url, hit, findings)
    for item in obs.location_credentials:
        with isolation.item("reporting a credential in a Location"):
            _report_location(obs, item, findings)
    if isolation.errors:
        # Whatever was reported before (and after) the failure stands.
        raise not_tested(internal_error(isolation.errors), findings=list(findings.values()))
    return list(findings.values())


def _report_hit(
    obs: ExposureObservation, url: str, hit: SecretHit, findings: dict[str, Finding]
) -> None:
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
            **dict(hit.facts),
        },
        confidence=confidence,
        location=f"{hit.type.id}:{hit.redacted.sha256[:16]}",
    )
    findings.setdefault(finding.fingerprint, finding)
    if hit.type.id == "jwt" and (hit.fact("alg") or "").lower() == "none":
        unsigned = JWT_ALG_NONE.finding(
            target=obs.target,
            message=f"An unsigned JWT (alg: none) is in the {hit.where} of {redact_url(url)}.",
            evidence={"value": str(hit.redacted), "alg": "none", "url": redact_url(url)},
            location=f"alg-none:{hit.redacted.sha256[:16]}",
        )
        findings.setdefault(unsigned.fingerprint, unsigned)


def _report_location(
    obs: ExposureObservation, item: LocationCredential, findings: dict[str, Finding]
) -> None:
    finding = CREDENTIAL_IN_LOCATION.finding(
        target=obs.target,
        message=(
            f"{redact_url(item.url)} redirects to a URL with a credential in `?{item.parameter}=`."
        ),
        evidence={
            "location": item.location,
            "parameter": item.parameter,
            "value": str(item.value),
        },
        location=f"{item.parameter}:{item.value.sha256[:16]}",
    )
    findings.setdefault(finding.fingerprint, finding)


FAMILY: Family[ExposureObservation] = Family(
    name="exposure",
    title="Secrets exposed in responses",
    group="http",
    observation=ExposureObservation,
    check=check,
)
