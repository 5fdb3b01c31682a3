"""Redirect chains: where does the API send a client, and does it ever send it back to cleartext?

keywire follows redirects itself, one recorded hop at a time, on the scanned host only (a hop to
another host is recorded, not requested), for at most ``max_hops`` hops.

A ``Location`` no client can follow (``javascript:``, ``data:``, control characters, a bad port)
is a redirect that does not go to HTTPS (KW103), shown escaped and redacted; it ends the chain.

Rules: KW103 (cleartext redirect not straight to HTTPS on the same host), KW104 (temporary redirect
to HTTPS), KW105 (HTTPS redirects to cleartext), KW106 (redirect loop or too many redirects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from .._dataclass import dataclass
from .._display import visible
from .._models import Category, Finding, Rule, Severity
from ..net.models import Chain, ChainEnd
from ..redact import redact_url
from ..targets import location_problem
from ._base import Family, not_applicable, not_tested

_CWE319 = "https://cwe.mitre.org/data/definitions/319.html"
_RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110#name-redirection-3xx"

REDIRECT_NOT_TO_HTTPS = Rule(
    id="KW103",
    title="Cleartext redirect does not go straight to HTTPS on the same host",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "The first redirect on the cleartext side points somewhere other than https:// on the "
        "same host: to another cleartext URL, or to a different host. Clients that follow it "
        "stay on cleartext longer, or are handed to a host the user did not choose."
    ),
    remediation=(
        "If the cleartext port must redirect at all (for browsers), redirect in one hop to the "
        "same host over https://, and refuse API requests that carry credentials with 403."
    ),
    references=(_CWE319, _RFC9110),
)

TEMPORARY_REDIRECT = Rule(
    id="KW104",
    title="Cleartext side redirects to HTTPS temporarily (302/303/307)",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.LOW,
    description=(
        "The redirect from HTTP to HTTPS is temporary, so clients and caches do not remember it "
        "and keep starting over cleartext."
    ),
    remediation="Use a permanent redirect (301 or 308), and HSTS on the HTTPS side.",
    references=(_RFC9110, "https://www.rfc-editor.org/rfc/rfc6797"),
)

HTTPS_DOWNGRADE = Rule(
    id="KW105",
    title="HTTPS response redirects to cleartext HTTP",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.HIGH,
    description=(
        "A response served over HTTPS redirects to an http:// URL. A client that follows it "
        "repeats its request, credentials included, in the clear."
    ),
    remediation=(
        "Never redirect from HTTPS to HTTP. Check the scheme your framework uses to build "
        "absolute URLs behind a TLS-terminating proxy (configure the proxy count, e.g. "
        "werkzeug's ProxyFix with x_proto=1 only when a proxy you control sets it)."
    ),
    references=(_CWE319,),
    flask_fix=(
        "from werkzeug.middleware.proxy_fix import ProxyFix\n"
        "# exactly one trusted proxy in front of the app sets X-Forwarded-Proto\n"
        "app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)\n"
        "app.config['PREFERRED_URL_SCHEME'] = 'https'\n"
    ),
)

REDIRECT_LOOP = Rule(
    id="KW106",
    title="Redirect loop or too many redirects",
    cwe=(835,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.LOW,
    description=(
        "Following the API's redirects on its own host never reaches a final answer: a hop "
        "repeats, or the chain exceeds keywire's hop limit. Clients give up or loop."
    ),
    remediation="Fix the redirect rules so one hop at most reaches the HTTPS endpoint.",
    references=("https://cwe.mitre.org/data/definitions/835.html", _RFC9110),
)

RULES = (REDIRECT_NOT_TO_HTTPS, TEMPORARY_REDIRECT, HTTPS_DOWNGRADE, REDIRECT_LOOP)


@dataclass(frozen=True, kw_only=True)
class RedirectObservation:
    target: str
    host: str
    http_chain: Chain | None
    https_chain: Chain | None


def check(obs: RedirectObservation) -> Sequence[Finding]:
    for chain in (obs.http_chain, obs.https_chain):
        failure = chain.failure if chain is not None and not chain.hops else None
        if failure is not None and not failure.is_refusal:
            raise not_tested(f"{redact_url(failure.url)}: {failure.reason}")
    chains = [c for c in (obs.http_chain, obs.https_chain) if c is not None and c.hops]
    if not chains:
        raise not_applicable("no HTTP response to follow")
    findings: list[Finding] = []
    http_chain = obs.http_chain
    if http_chain is not None and http_chain.hops and http_chain.hops[0].is_redirect:
        first = http_chain.hops[0]
        location = first.location or ""
        problem = location_problem(location)
        parts = urlsplit(location) if problem is None else None
        if parts is None:
            shown = visible(redact_url(first.header("location") or ""))[:200]
            findings.append(
                REDIRECT_NOT_TO_HTTPS.finding(
                    target=obs.target,
                    message=(
                        f"{redact_url(first.url)} redirects to a Location no client can "
                        f"follow ({problem}): {shown}"
                    ),
                    evidence={
                        "status": str(first.status),
                        "location": shown,
                        "problem": str(problem),
                    },
                    location=first.url,
                )
            )
        elif parts.scheme != "https" or (parts.hostname or "").lower() != obs.host.lower():
            findings.append(
                REDIRECT_NOT_TO_HTTPS.finding(
                    target=obs.target,
                    message=(
                        f"{redact_url(first.url)} redirects to {redact_url(location)}, "
                        "not to https:// on the same host."
                    ),
                    evidence={"status": str(first.status), "location": redact_url(location)},
                    location=first.url,
                )
            )
        elif first.status in (302, 303, 307):
            findings.append(
                TEMPORARY_REDIRECT.finding(
                    target=obs.target,
                    message=(
                        f"{redact_url(first.url)} redirects to HTTPS with a temporary "
                        f"{first.status}."
                    ),
                    evidence={"status": str(first.status), "location": redact_url(location)},
                    location=first.url,
                )
            )
    for chain in chains:
        for hop in chain.hops:
            if hop.scheme == "https" and hop.is_redirect:
                location = hop.location or ""
                if location_problem(location) is None and urlsplit(location).scheme == "http":
                    findings.append(
                        HTTPS_DOWNGRADE.finding(
                            target=obs.target,
                            message=(
                                f"{redact_url(hop.url)} (HTTPS) redirects to cleartext "
                                f"{redact_url(location)}."
                            ),
                            evidence={"status": str(hop.status), "location": redact_url(location)},
                            location=hop.url,
                        )
                    )
        if chain.end in (ChainEnd.LOOP, ChainEnd.TOO_MANY):
            what = "loops" if chain.end is ChainEnd.LOOP else f"exceeds {len(chain.hops) - 1} hops"
            findings.append(
                REDIRECT_LOOP.finding(
                    target=obs.target,
                    message=f"The redirect chain from {redact_url(chain.start)} {what}.",
                    evidence={
                        "hops": " -> ".join(redact_url(h.url) for h in chain.hops[:6]),
                        "next": redact_url(chain.next_url),
                    },
                    location=chain.start,
                )
            )
    return _unique(findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[str] = set()
    result = []
    for finding in findings:
        if finding.fingerprint not in seen:
            seen.add(finding.fingerprint)
            result.append(finding)
    return result


def details(obs: RedirectObservation) -> Mapping[str, object]:
    def describe(chain: Chain | None) -> list[str]:
        if chain is None:
            return []
        steps = [f"{h.status} {redact_url(h.url)}" for h in chain.hops]
        if chain.failure is not None:
            steps.append(f"error {redact_url(chain.failure.url)}: {chain.failure.reason}")
        elif chain.end is not ChainEnd.FINAL:
            steps.append(f"{chain.end.value} {visible(redact_url(chain.next_url))[:200]}")
        return steps

    return {"http_chain": describe(obs.http_chain), "https_chain": describe(obs.https_chain)}


FAMILY: Family[RedirectObservation] = Family(
    name="redirects",
    title="Redirect chains",
    group="http",
    observation=RedirectObservation,
    check=check,
    details=details,
)
