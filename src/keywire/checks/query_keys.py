"""API keys in the query string: does the API read credentials from URLs?

URLs end up in server and proxy logs, browser history, ``Referer`` headers and analytics, so a key
accepted in ``?api_key=`` leaks through channels TLS does not protect. keywire adds a canary value
(random, worthless) under the usual parameter names and compares the answer with the plain request;
a different answer means the API looked at it. It prefers the HTTPS side, but the canary is worthless,
so the cleartext side is used when it is the only one.

A server that only *echoes* the query (a redirect that keeps it, an error page that prints the URL)
has not read anything: answers are compared without the echo (for redirects, status and
``Location`` with the canary removed; bodies without the echoed parameters), and one
finding per endpoint lists every parameter name the API reacted to.

Rule: KW120.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import Fetched, FetchFailure, HttpResponse
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested
from ._compare import answers_differ, size, strictly_differ

KEY_PARAMETERS = ("api_key", "apikey", "key", "access_token", "token")

QUERY_STRING_KEY = Rule(
    id="KW120",
    title="API reads credentials from the query string",
    cwe=(598,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The API answers differently when a key-like query parameter is present: it accepts "
        "credentials in the URL. URLs are logged by servers and proxies, kept in browser history "
        "and leaked in Referer headers, so keys sent this way leak even over HTTPS."
    ),
    remediation=(
        "Accept credentials only in headers (`Authorization` or `X-API-Key`); refuse requests "
        "that carry a key in the query string without looking the key up (flask_keywire "
        "answers exactly as if no key had been sent: the same 401)."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/598.html",
        "https://owasp.org/www-community/vulnerabilities/Information_exposure_through_query_strings_in_url",
        "https://datatracker.ietf.org/doc/html/rfc6750#section-5.3",
    ),
    flask_fix=(
        "key = request.headers.get('X-API-Key')  # never request.args.get('api_key')\n"
        "if 'api_key' in request.args:\n"
        "    abort(400, 'send the key in the X-API-Key header')\n"
    ),
)

RULES = (QUERY_STRING_KEY,)


def _with_params(url: str, params: dict[str, str]) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(params)}"


@dataclass(frozen=True, kw_only=True)
class QueryKeyObservation:
    target: str
    url: str | None
    baseline: Fetched | None
    combined: Fetched | None
    single: tuple[tuple[str, Fetched], ...]
    baseline_repeat: Fetched | None
    canary: str


def check(obs: QueryKeyObservation) -> Sequence[Finding]:
    if obs.url is None or not isinstance(obs.baseline, HttpResponse):
        if isinstance(obs.baseline, FetchFailure) and not obs.baseline.is_refusal:
            raise not_tested(f"no usable response: {obs.baseline.reason}")
        raise not_applicable("no HTTP response to compare against")
    if isinstance(obs.combined, FetchFailure):
        raise not_tested(f"request with key parameters failed: {obs.combined.reason}")
    baseline = obs.baseline
    if answers_differ(baseline, obs.baseline_repeat, obs.canary):
        raise not_tested("the API's answer changes between identical requests; cannot compare")
    read: list[tuple[str, HttpResponse]] = [
        (name, response)
        for name, response in obs.single
        if isinstance(response, HttpResponse)
        and answers_differ(baseline, response, obs.canary, (name,))
    ]
    if not read:
        return []
    names = [name for name, _ in read]
    first = read[0][1]
    strict = any(strictly_differ(baseline, r, obs.canary, (n,)) for n, r in read)
    shown = ", ".join(f"`?{n}=<canary>`" for n in names)
    return [
        QUERY_STRING_KEY.finding(
            target=obs.target,
            message=(
                f"Adding {shown} changed the answer of {redact_url(obs.url)} "
                f"(HTTP {baseline.status} → HTTP {first.status}): the API reads keys from the URL."
            ),
            evidence={
                "parameters": ", ".join(names),
                "without": f"HTTP {baseline.status}, {size(baseline)}",
                **{f"with ?{n}=<canary>": f"HTTP {r.status}, {size(r)}" for n, r in read[:5]},
            },
            confidence=Confidence.HIGH if strict else Confidence.MEDIUM,
            location="query-string",
        )
    ]


FAMILY: Family[QueryKeyObservation] = Family(
    name="query_keys",
    title="Credentials in the query string",
    group="http",
    observation=QueryKeyObservation,
    check=check,
)
