"""Spoofable proxy headers: can a client talk its way past HTTPS enforcement?

Behind a TLS-terminating proxy, an application learns the original scheme from headers such as
``X-Forwarded-Proto``. If it trusts them from *any* client (flask-talisman with ProxyFix set up for a
proxy that is not there, for example), a client on plain HTTP can claim to be on HTTPS: the
redirect or refusal disappears and the credential is processed in the clear.

keywire sends the cleartext request again with each header claiming HTTPS. This only runs when the
plain request was redirected or refused; when cleartext already serves content, KW101 says so.

Rule: KW150.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..net.models import Fetched, FetchFailure, HttpResponse
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested, serves_content

SPOOFED_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Ssl", "on"),
    ("Forwarded", "proto=https"),
    ("X-Url-Scheme", "https"),
    ("Front-End-Https", "on"),
)

SPOOFABLE_HTTPS = Rule(
    id="KW150",
    title="HTTPS enforcement bypassed with a spoofed proxy header",
    cwe=(693,),
    owasp_api="API8:2023",
    category=Category.INPUT_VALIDATION,
    severity=Severity.HIGH,
    description=(
        "Over plain HTTP, the API redirects or refuses a normal request, but serves it when the "
        "client adds a header such as `X-Forwarded-Proto: https`. The application trusts "
        "forwarding headers from any client, so HTTPS enforcement is decorative: a misconfigured "
        "client, or an attacker, can make the API process credentials over cleartext."
    ),
    remediation=(
        "Trust forwarding headers only from the proxies you run, and only as many hops as there "
        "are proxies; strip them at the edge. Decide HTTPS from the connection itself otherwise."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/693.html",
        "https://werkzeug.palletsprojects.com/en/latest/middleware/proxy_fix/",
        "https://datatracker.ietf.org/doc/html/rfc7239",
    ),
    flask_fix=(
        "from werkzeug.middleware.proxy_fix import ProxyFix\n"
        "# Only if exactly one proxy you control sits in front of the app:\n"
        "app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)\n"
        "# flask_keywire: KEYWIRE_TRUSTED_PROXIES = 1 (default 0: headers never count)\n"
    ),
)

RULES = (SPOOFABLE_HTTPS,)


@dataclass(frozen=True, kw_only=True)
class ProxyHeaderObservation:
    target: str
    http_url: str | None
    baseline: Fetched | None
    spoofed: tuple[tuple[str, str, Fetched], ...]


def check(obs: ProxyHeaderObservation) -> Sequence[Finding]:
    baseline = obs.baseline
    if obs.http_url is None or baseline is None:
        raise not_applicable("no cleartext side to check")
    if isinstance(baseline, FetchFailure):
        if baseline.is_refusal:
            raise not_applicable("the cleartext side refuses connections")
        raise not_tested(f"cleartext side did not answer usably: {baseline.reason}")
    if serves_content(baseline):
        raise not_applicable("cleartext already serves content (see KW101)")
    findings = []
    for name, value, response in obs.spoofed:
        if isinstance(response, HttpResponse) and serves_content(response):
            findings.append(
                SPOOFABLE_HTTPS.finding(
                    target=obs.target,
                    message=(
                        f"Over cleartext, {redact_url(obs.http_url)} answered HTTP "
                        f"{baseline.status} normally but HTTP {response.status} with "
                        f"`{name}: {value}`: HTTPS enforcement trusts a client-supplied header."
                    ),
                    evidence={
                        "without header": f"HTTP {baseline.status}",
                        f"with {name}: {value}": f"HTTP {response.status}",
                    },
                    location=name.lower(),
                )
            )
    return findings


FAMILY: Family[ProxyHeaderObservation] = Family(
    name="proxy_headers",
    title="Spoofable proxy headers",
    group="http",
    observation=ProxyHeaderObservation,
    check=check,
)
