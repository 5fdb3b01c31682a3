"""What the API does with the user's credentials, seen from the authenticated response.

Runs only when the user gave credentials (``--header``, ``--header-env``). The authenticated
request is the core's: one GET, only over HTTPS whose certificate verified, only to the scanned host
(:meth:`keywire.net.http.HttpClient.fetch`); nothing here sends a credential anywhere else.

* The credential is **echoed back** (body or headers): it ends up in logs, caches and the browser
  (KW704). The probe searches for the value the user gave; only where it was found is kept.
* The authenticated answer is **cacheable**: no ``Cache-Control: no-store`` or ``private``, so
  caches may keep one user's data and serve it to another (KW180).
* A **cookie is set** in answer to a header-authenticated request that the anonymous answer does
  not set: the API turns a header credential into an ambient one that browsers send by themselves
  (KW163).
* **Personal data** in the authenticated payload: card numbers (Luhn and network prefix), IBANs
  (mod 97), e-mail addresses (:mod:`keywire.secrets.pii`) (KW705). Secrets in it are reported by
  the exposure family, which already examines the authenticated response.

Rules: KW163, KW180, KW704, KW705.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import FailureKind, Fetched, FetchFailure, HttpResponse
from ..redact import redact_url
from ..secrets.pii import PiiHit
from ._base import Family, not_applicable, not_tested

_CWE525 = "https://cwe.mitre.org/data/definitions/525.html"

COOKIE_AFTER_AUTH = Rule(
    id="KW163",
    title="Cookie set in answer to a header-authenticated request",
    cwe=(1275, 352),
    owasp_api="API8:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.LOW,
    description=(
        "The authenticated answer sets a cookie that the anonymous answer does not: the API turns "
        "a header credential into a cookie session. Browsers send cookies on their own, with "
        "cross-site requests too unless `SameSite` says otherwise, and the cookie must now be "
        "protected like the key. Without `SameSite` (or with `SameSite=None`) it is reported at "
        "medium severity."
    ),
    remediation=(
        "Keep API authentication stateless (the header on every request). If a session cookie is "
        "needed, set it `Secure; HttpOnly; SameSite=Strict` (or `Lax`) with a `__Host-` name."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/1275.html",
        "https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-8.8",
    ),
    flask_fix=(
        "app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,\n"
        "                  SESSION_COOKIE_SAMESITE='Strict')\n"
    ),
)

CACHEABLE_AUTHENTICATED = Rule(
    id="KW180",
    title="Authenticated response can be stored by caches",
    cwe=(525,),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "The answer to an authenticated request has no `Cache-Control: no-store` or `private`. "
        "Browser, proxy and CDN caches may keep one user's data and hand it to the next. Shared "
        "caches do not store answers to requests with `Authorization` unless told to, so with "
        "only that header (and no `public`/`s-maxage`) it is reported at low severity."
    ),
    remediation="Send `Cache-Control: no-store` on every authenticated response.",
    references=(_CWE525, "https://www.rfc-editor.org/rfc/rfc9111#section-3.5"),
    flask_fix=(
        "@app.after_request\n"
        "def no_store(response):\n"
        "    response.headers['Cache-Control'] = 'no-store'\n"
        "    return response\n"
    ),
)

CREDENTIAL_ECHOED = Rule(
    id="KW704",
    title="Credential echoed back in a response",
    cwe=(200, 532),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "The API returns the credential the request carried (in the body or a header). Responses "
        "are logged, cached and shown in browsers and API consoles, where the key then leaks."
    ),
    remediation=(
        "Never return credentials; return a key ID or the last four characters if clients need "
        "to tell keys apart."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/200.html",
        "https://cwe.mitre.org/data/definitions/532.html",
    ),
)

PERSONAL_DATA = Rule(
    id="KW705",
    title="Personal data in an authenticated response",
    cwe=(359,),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "The authenticated payload contains personal data: a full payment card number (high; "
        "Luhn and network prefix checked), an IBAN (medium; mod-97 checked) or e-mail addresses "
        "(low). Check that the caller needs it: APIs tend to return whole records where a few "
        "fields would do."
    ),
    remediation=(
        "Return only the fields the client needs; mask card numbers to the last four digits "
        "(PCI DSS) and account numbers likewise."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/359.html",
        "https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/",
    ),
)

RULES = (COOKIE_AFTER_AUTH, CACHEABLE_AUTHENTICATED, CREDENTIAL_ECHOED, PERSONAL_DATA)

MIN_ECHO_LENGTH = 8


@dataclass(frozen=True, kw_only=True)
class Echo:
    header: str  # the request header whose value came back
    where: str  # "body" or "header <name>"


@dataclass(frozen=True, kw_only=True)
class CookieSet:
    name: str
    attributes: frozenset[str]
    same_site: str


@dataclass(frozen=True, kw_only=True)
class AuthenticatedObservation:
    target: str
    given: bool
    credential_headers: tuple[str, ...] = ()
    response: Fetched | None = None
    echoes: tuple[Echo, ...] = ()
    cookies: tuple[CookieSet, ...] = ()
    anonymous_cookies: frozenset[str] = frozenset()
    pii: tuple[PiiHit, ...] = ()


def _needles(name: str, value: str) -> list[str]:
    """The strings that, found in a response, mean the credential came back."""
    candidates = [value]
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization") and " " in value:
        candidates.append(value.split(" ", 1)[1].strip())
    if lowered == "cookie":
        candidates += [part.split("=", 1)[1].strip() for part in value.split(";") if "=" in part]
    needles: list[str] = []
    for candidate in candidates:
        for form in (candidate, quote(candidate, safe="")):
            if len(form) >= MIN_ECHO_LENGTH and form not in needles:
                needles.append(form)
    return needles


def _cookies(response: HttpResponse) -> list[CookieSet]:
    found = []
    for header in response.header_values("set-cookie"):
        first, _, rest = header.partition(";")
        name = first.split("=", 1)[0].strip()
        if not name:
            continue
        attributes: dict[str, str] = {}
        for part in rest.split(";"):
            key, _, value = part.partition("=")
            if key.strip():
                attributes[key.strip().lower()] = value.strip().lower()
        found.append(
            CookieSet(
                name=name[:100],
                attributes=frozenset(attributes),
                same_site=attributes.get("samesite", ""),
            )
        )
    return found


def find_echoes(response: HttpResponse, credentials: Mapping[str, str]) -> list[Echo]:
    body = response.body.decode("utf-8", "replace")
    echoes: list[Echo] = []
    for name, value in credentials.items():
        needles = _needles(name, value)
        if any(needle in body for needle in needles):
            echoes.append(Echo(header=name, where="body"))
        for header, content in response.headers:
            if header.lower() == "set-cookie" and name.lower() == "cookie":
                continue  # a session cookie being refreshed is not an echo
            if any(needle in content for needle in needles):
                echoes.append(Echo(header=name, where=f"header {header}"))
    return echoes


def _directives(value: str) -> set[str]:
    return {part.split("=", 1)[0].strip().lower() for part in value.split(",") if part.strip()}


def check(obs: AuthenticatedObservation) -> Sequence[Finding]:
    if not obs.given:
        raise not_applicable("no credentials given (--header or --header-env)")
    response = obs.response
    if isinstance(response, FetchFailure):
        if response.kind is FailureKind.POLICY:
            raise not_applicable(f"credentials not sent: {response.reason}")
        if response.kind is FailureKind.CERTIFICATE:
            raise not_tested(f"credentials withheld: {response.reason}")
        raise not_tested(f"the authenticated request failed: {response.reason}")
    assert isinstance(response, HttpResponse)
    url = redact_url(response.url)
    findings: list[Finding] = []
    for echo in obs.echoes:
        findings.append(
            CREDENTIAL_ECHOED.finding(
                target=obs.target,
                message=f"The value of the {echo.header} credential comes back in the {echo.where} of {url}.",
                evidence={"credential": echo.header, "where": echo.where, "url": url},
                location=f"{echo.header.lower()}:{echo.where}",
            )
        )
    if 200 <= response.status < 300:
        cache_control = response.header("cache-control") or ""
        directives = _directives(cache_control)
        if not directives & {"no-store", "private"}:
            only_authorization = {h.lower() for h in obs.credential_headers} == {"authorization"}
            shared_ok = bool(directives & {"public", "s-maxage"})
            findings.append(
                CACHEABLE_AUTHENTICATED.finding(
                    target=obs.target,
                    message=(
                        f"The authenticated answer of {url} (HTTP {response.status}) does not "
                        "forbid caching."
                    ),
                    evidence={"Cache-Control": cache_control or "(none)", "url": url},
                    severity=Severity.LOW if only_authorization and not shared_ok else None,
                    location="cache-control",
                )
            )
        for hit in obs.pii:
            findings.append(
                PERSONAL_DATA.finding(
                    target=obs.target,
                    message=f"The authenticated answer of {url} contains a {hit.name}.",
                    evidence={"type": hit.name, "value": str(hit.redacted), "url": url},
                    severity=hit.severity,
                    confidence=Confidence.HIGH if hit.kind != "email" else Confidence.MEDIUM,
                    location=f"{hit.kind}:{hit.redacted.sha256[:16]}",
                )
            )
    for cookie in obs.cookies:
        if cookie.name in obs.anonymous_cookies:
            continue
        weak = cookie.same_site in ("", "none")
        attributes = ", ".join(sorted(cookie.attributes)) or "none"
        findings.append(
            COOKIE_AFTER_AUTH.finding(
                target=obs.target,
                message=(
                    f"The authenticated answer of {url} sets cookie `{cookie.name}` "
                    f"({'no SameSite' if cookie.same_site == '' else 'SameSite=' + cookie.same_site})."
                ),
                evidence={"cookie": cookie.name, "attributes": attributes, "url": url},
                severity=Severity.MEDIUM if weak else None,
                location=cookie.name,
            )
        )
    return findings


def details(obs: AuthenticatedObservation) -> Mapping[str, object]:
    if not obs.given:
        return {}
    response = obs.response
    return {
        "credential_headers": list(obs.credential_headers),
        "status": response.status if isinstance(response, HttpResponse) else None,
        "sent_over": "verified https" if isinstance(response, HttpResponse) else "not sent",
    }


FAMILY: Family[AuthenticatedObservation] = Family(
    name="authenticated",
    title="Authenticated responses",
    group="http",
    observation=AuthenticatedObservation,
    check=check,
    details=details,
)
