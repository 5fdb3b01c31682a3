"""Cookies: can a session cookie leak over cleartext or to scripts?

A cookie without ``Secure`` is sent by the browser on http:// requests to the same host, where
anyone on the path reads it; a cookie *set* over cleartext has already crossed the wire. A session
cookie without ``HttpOnly`` is readable by any script that runs on the page.

Only cookie names and attributes are kept: values are dropped where they are captured.

Rules: KW160 (no Secure on HTTPS), KW161 (cookie set over cleartext), KW162 (session cookie without
HttpOnly).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..redact import redact_url
from ._base import Family, not_applicable

_MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Cookies#restrict_access_to_cookies"
_FLASK_COOKIES = """\
app.config.update(
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
)
# and for your own cookies:
response.set_cookie("name", value, secure=True, httponly=True, samesite="Lax")
"""

COOKIE_NOT_SECURE = Rule(
    id="KW160",
    title="Cookie set over HTTPS without the Secure attribute",
    cwe=(614,),
    owasp_api="API8:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "A cookie set on an HTTPS response lacks `Secure`, so browsers also send it on any "
        "http:// request to the host, where an attacker on the path can read it or make the "
        "browser send one."
    ),
    remediation="Add `Secure` to every cookie (and prefer the `__Host-` name prefix).",
    references=("https://cwe.mitre.org/data/definitions/614.html", _MDN),
    flask_fix=_FLASK_COOKIES,
)

COOKIE_OVER_HTTP = Rule(
    id="KW161",
    title="Cookie set over cleartext HTTP",
    cwe=(319, 614),
    owasp_api="API8:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The cleartext side sets a cookie: its value crossed the network in the clear and a "
        "network attacker can read or replace it."
    ),
    remediation="Do not serve the API, or set cookies, over HTTP; refuse cleartext with 403.",
    references=("https://cwe.mitre.org/data/definitions/319.html", _MDN),
    flask_fix=_FLASK_COOKIES,
)

SESSION_COOKIE_NO_HTTPONLY = Rule(
    id="KW162",
    title="Session cookie without HttpOnly",
    cwe=(1004,),
    owasp_api="API8:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.LOW,
    description=(
        "A cookie whose name marks it as a session or authentication cookie lacks `HttpOnly`: "
        "any script on a page of the site, including an injected one, can read and exfiltrate it."
    ),
    remediation="Add `HttpOnly` to session and authentication cookies.",
    references=("https://cwe.mitre.org/data/definitions/1004.html", _MDN),
    flask_fix=_FLASK_COOKIES,
)

RULES = (COOKIE_NOT_SECURE, COOKIE_OVER_HTTP, SESSION_COOKIE_NO_HTTPONLY)

_SESSION_NAME = re.compile(
    r"sess|sid|auth|token|jwt|login|remember|identity|jsession|phpsess", re.I
)
_NOT_SESSION = re.compile(r"csrf|xsrf", re.I)


@dataclass(frozen=True, kw_only=True)
class CookieSeen:
    """A Set-Cookie header reduced to its name and attributes (the value is never kept)."""

    name: str
    attributes: frozenset[str]
    url: str
    scheme: str

    @property
    def session_like(self) -> bool:
        return bool(_SESSION_NAME.search(self.name)) and not _NOT_SESSION.search(self.name)


def parse_set_cookie(header: str, *, url: str, scheme: str) -> CookieSeen | None:
    """Keep the cookie's name and its attribute names; drop its value."""
    first, _, rest = header.partition(";")
    name, sep, _value = first.partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    attributes = frozenset(
        part.split("=", 1)[0].strip().lower() for part in rest.split(";") if part.strip()
    )
    return CookieSeen(name=name[:100], attributes=attributes, url=url, scheme=scheme)


@dataclass(frozen=True, kw_only=True)
class CookieObservation:
    target: str
    responses_seen: int
    cookies: tuple[CookieSeen, ...]


def check(obs: CookieObservation) -> Sequence[Finding]:
    if obs.responses_seen == 0:
        raise not_applicable("no HTTP response to examine")
    findings: dict[str, Finding] = {}
    for cookie in obs.cookies:
        attrs = ", ".join(sorted(cookie.attributes)) or "none"
        evidence = {"cookie": cookie.name, "attributes": attrs, "url": redact_url(cookie.url)}
        if cookie.scheme == "http":
            finding = COOKIE_OVER_HTTP.finding(
                target=obs.target,
                message=f"Cookie `{cookie.name}` is set over cleartext by {redact_url(cookie.url)}.",
                evidence=evidence,
                location=f"http:{cookie.name}",
            )
            findings.setdefault(finding.fingerprint, finding)
        elif "secure" not in cookie.attributes:
            finding = COOKIE_NOT_SECURE.finding(
                target=obs.target,
                message=f"Cookie `{cookie.name}` is set without Secure.",
                evidence=evidence,
                location=cookie.name,
            )
            findings.setdefault(finding.fingerprint, finding)
        if cookie.session_like and "httponly" not in cookie.attributes:
            finding = SESSION_COOKIE_NO_HTTPONLY.finding(
                target=obs.target,
                message=f"Session cookie `{cookie.name}` is set without HttpOnly.",
                evidence=evidence,
                location=cookie.name,
            )
            findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


FAMILY: Family[CookieObservation] = Family(
    name="cookies",
    title="Cookie attributes",
    group="http",
    observation=CookieObservation,
    check=check,
)
