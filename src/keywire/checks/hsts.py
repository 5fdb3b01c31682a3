"""HTTP Strict Transport Security: does the HTTPS side tell clients never to use cleartext again?

HSTS (RFC 6797) makes browsers and HSTS-aware clients rewrite http:// to https:// before a request
leaves the machine, which is the only defence against a first request over cleartext. A user agent
processes only the first ``Strict-Transport-Security`` header of a response, only over HTTPS, and
ignores a header it cannot parse.

Rules: KW140 (missing), KW141 (malformed), KW142 (max-age=0), KW143 (max-age under a year),
KW144 (no includeSubDomains), KW145 (sent over cleartext only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..net.models import Chain, FetchFailure, HttpResponse
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested

ONE_YEAR = 31_536_000
_RFC = "https://www.rfc-editor.org/rfc/rfc6797"
_OWASP = (
    "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Strict_Transport_Security_Cheat_Sheet.html"
)
_FLASK_HSTS = """\
@app.after_request
def hsts(response):
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return response
# flask_keywire's KeyWire(app) sets this header for you.
"""

HSTS_MISSING = Rule(
    id="KW140",
    title="HSTS header missing on HTTPS responses",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "The HTTPS side sends no Strict-Transport-Security header, so clients that honour HSTS "
        "will still try http:// first when given such a link, and an attacker on the path can "
        "keep them on cleartext (SSL stripping)."
    ),
    remediation="Send `Strict-Transport-Security: max-age=63072000; includeSubDomains` on every HTTPS response.",
    references=(_RFC, _OWASP),
    flask_fix=_FLASK_HSTS,
)

HSTS_MALFORMED = Rule(
    id="KW141",
    title="HSTS header is malformed and ignored",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "The Strict-Transport-Security header cannot be parsed (no valid max-age, a repeated "
        "directive, bad syntax). Clients ignore it entirely, as if it were missing."
    ),
    remediation="Use exactly `max-age=<seconds>` plus optional `includeSubDomains` and `preload`, separated by `;`.",
    references=(_RFC + "#section-6.1", _OWASP),
    flask_fix=_FLASK_HSTS,
)

HSTS_ZERO = Rule(
    id="KW142",
    title="HSTS max-age is 0 (HSTS switched off)",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description="`max-age=0` tells clients to forget the HSTS policy: HTTPS is not enforced.",
    remediation="Set max-age to at least one year (31536000); two years (63072000) is usual.",
    references=(_RFC + "#section-6.1.1", _OWASP),
    flask_fix=_FLASK_HSTS,
)

HSTS_SHORT = Rule(
    id="KW143",
    title="HSTS max-age shorter than one year",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.LOW,
    description=(
        "The HSTS policy expires in less than a year, so clients that have not talked to the API "
        "recently fall back to trying cleartext."
    ),
    remediation="Set max-age to at least 31536000 (one year); 63072000 (two years) is usual.",
    references=(_RFC, "https://hstspreload.org/"),
    flask_fix=_FLASK_HSTS,
)

HSTS_NO_SUBDOMAINS = Rule(
    id="KW144",
    title="HSTS without includeSubDomains",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.LOW,
    description=(
        "The HSTS policy covers this host only. Sibling hosts under it (and cookies scoped to the "
        "parent domain) can still be reached over cleartext."
    ),
    remediation="Add `includeSubDomains` once every subdomain serves HTTPS.",
    references=(_RFC + "#section-6.1.2", _OWASP),
    flask_fix=_FLASK_HSTS,
)

HSTS_OVER_HTTP_ONLY = Rule(
    id="KW145",
    title="HSTS sent over cleartext only",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.LOW,
    description=(
        "The cleartext side sends Strict-Transport-Security, but clients must ignore it there "
        "(RFC 6797 §8.1), and the HTTPS side does not send it. The policy never takes effect."
    ),
    remediation="Send the header on HTTPS responses; sending it over HTTP has no effect.",
    references=(_RFC + "#section-8.1",),
    flask_fix=_FLASK_HSTS,
)

RULES = (
    HSTS_MISSING,
    HSTS_MALFORMED,
    HSTS_ZERO,
    HSTS_SHORT,
    HSTS_NO_SUBDOMAINS,
    HSTS_OVER_HTTP_ONLY,
)


@dataclass(frozen=True, kw_only=True)
class HstsPolicy:
    max_age: int
    include_subdomains: bool
    preload: bool


class HstsParseError(ValueError):
    pass


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_hsts(value: str) -> HstsPolicy:
    """Parse a Strict-Transport-Security value as RFC 6797 §6.1 describes.

    >>> parse_hsts("max-age=63072000; includeSubDomains")
    HstsPolicy(max_age=63072000, include_subdomains=True, preload=False)
    """
    directives: dict[str, str | None] = {}
    for raw in value.split(";"):
        part = raw.strip()
        if not part:
            continue
        name, sep, arg = part.partition("=")
        name = name.strip().lower()
        if not _TOKEN.match(name):
            raise HstsParseError(f"invalid directive name {name!r}")
        if name in directives:
            raise HstsParseError(f"directive {name!r} appears twice")
        arg_value: str | None = None
        if sep:
            arg_value = arg.strip()
            if len(arg_value) >= 2 and arg_value[0] == arg_value[-1] == '"':
                arg_value = arg_value[1:-1]
        directives[name] = arg_value
    if "max-age" not in directives:
        raise HstsParseError("no max-age directive")
    max_age = directives["max-age"]
    if max_age is None or not max_age.isdigit():
        raise HstsParseError(f"max-age is not a number of seconds: {max_age!r}")
    return HstsPolicy(
        max_age=int(max_age),
        include_subdomains="includesubdomains" in directives,
        preload="preload" in directives,
    )


@dataclass(frozen=True, kw_only=True)
class HstsObservation:
    target: str
    https: Chain | None
    http: Chain | None


def _https_responses(chain: Chain | None) -> list[HttpResponse]:
    if chain is None:
        return []
    return [hop for hop in chain.hops if hop.scheme == "https"]


def _http_header(chain: Chain | None) -> tuple[HttpResponse, str] | None:
    if chain is None or not chain.hops:
        return None
    first = chain.hops[0]
    if first.scheme != "http":
        return None
    value = first.header("strict-transport-security")
    return (first, value) if value is not None else None


def check(obs: HstsObservation) -> Sequence[Finding]:
    https = _https_responses(obs.https) or _https_responses(obs.http)
    over_http = _http_header(obs.http)
    findings: list[Finding] = []
    if not https:
        failure = obs.https.failure if obs.https is not None else None
        if over_http is not None:
            response, value = over_http
            return [_over_http_only(obs.target, response, value)]
        if isinstance(failure, FetchFailure) and not failure.is_refusal:
            raise not_tested(f"no HTTPS response: {failure.reason}")
        raise not_applicable("no HTTPS response to examine")

    carrying = [(r, r.header("strict-transport-security")) for r in https]
    present = [(r, v) for r, v in carrying if v is not None]
    if not present:
        first = https[0]
        findings.append(
            HSTS_MISSING.finding(
                target=obs.target,
                message=f"{redact_url(first.url)} sends no Strict-Transport-Security header.",
                evidence={"response": f"HTTP {first.status} {redact_url(first.url)}"},
                location="strict-transport-security",
            )
        )
        if over_http is not None:
            findings.append(_over_http_only(obs.target, *over_http))
        return findings

    response, value = present[0]
    assert value is not None
    evidence = {
        "header": f"Strict-Transport-Security: {value[:200]}",
        "url": redact_url(response.url),
    }
    try:
        policy = parse_hsts(value)
    except HstsParseError as exc:
        return [
            HSTS_MALFORMED.finding(
                target=obs.target,
                message=f"The Strict-Transport-Security header is ignored by clients: {exc}.",
                evidence=evidence,
                location="strict-transport-security",
            )
        ]
    if policy.max_age == 0:
        return [
            HSTS_ZERO.finding(
                target=obs.target,
                message="Strict-Transport-Security has max-age=0, which switches HSTS off.",
                evidence=evidence,
                location="strict-transport-security",
            )
        ]
    if policy.max_age < ONE_YEAR:
        findings.append(
            HSTS_SHORT.finding(
                target=obs.target,
                message=(
                    f"HSTS max-age is {policy.max_age} s ({policy.max_age / 86400:.0f} days), "
                    "under one year."
                ),
                evidence=evidence,
                location="strict-transport-security",
            )
        )
    if not policy.include_subdomains:
        findings.append(
            HSTS_NO_SUBDOMAINS.finding(
                target=obs.target,
                message="The HSTS policy lacks includeSubDomains.",
                evidence=evidence,
                location="strict-transport-security",
            )
        )
    return findings


def _over_http_only(target: str, response: HttpResponse, value: str) -> Finding:
    return HSTS_OVER_HTTP_ONLY.finding(
        target=target,
        message=(
            f"{redact_url(response.url)} sends Strict-Transport-Security over cleartext, where "
            "clients ignore it, and no HTTPS response carries it."
        ),
        evidence={"header": f"Strict-Transport-Security: {value[:200]}"},
        location="strict-transport-security-http",
    )


def details(obs: HstsObservation) -> Mapping[str, object]:
    https = _https_responses(obs.https) or _https_responses(obs.http)
    for response in https:
        value = response.header("strict-transport-security")
        if value is not None:
            return {"hsts": value[:200]}
    return {"hsts": None}


FAMILY: Family[HstsObservation] = Family(
    name="hsts",
    title="HTTP Strict Transport Security",
    group="http",
    observation=HstsObservation,
    check=check,
    details=details,
)
