"""Cleartext links in HTTPS responses: does the API hand clients http:// URLs?

A JSON API that returns ``"next": "http://api.example.com/v1/items?page=2"`` sends every client that
follows it, with its credentials, back to cleartext. The same holds for ``Link``,
``Content-Location`` and ``Refresh`` headers. (An HTTPS ``Location`` to http:// is KW105.)

Identifiers that only look like URLs (XML namespaces, JSON-Schema ``$schema`` values) are ignored.

Rule: KW170.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .. import _json
from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..net.models import HttpResponse
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested

_MAX_NODES = 20_000
_MAX_DEPTH = 64
_LINK_HEADERS = ("link", "content-location", "refresh")
_IDENTIFIER_HOSTS = re.compile(
    r"^http://(www\.)?(w3\.org|json-schema\.org|schema\.org|purl\.org|xmlns\.com|ns\.adobe\.com|schemas\.xmlsoap\.org|schemas\.microsoft\.com)(/|$)",
    re.I,
)
_IDENTIFIER_KEYS = frozenset({"$schema", "$id", "@context", "xmlns", "@vocab", "@type"})
_HTTP_URL = re.compile(r"http://[^\s\"'<>,;]+", re.I)

CLEARTEXT_LINK = Rule(
    id="KW170",
    title="HTTPS response links to http:// URLs",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "An HTTPS response contains http:// URLs (in JSON values or in Link, Content-Location or "
        "Refresh headers). Clients that follow them, such as pagination or HATEOAS links, "
        "repeat their request with credentials over cleartext."
    ),
    remediation=(
        "Build absolute URLs with the https scheme (or return relative URLs). Behind a proxy, "
        "configure how many proxy hops to trust so the application knows the original scheme."
    ),
    references=("https://cwe.mitre.org/data/definitions/319.html",),
    flask_fix=(
        "app.config['PREFERRED_URL_SCHEME'] = 'https'\n"
        "url_for('items', page=2, _external=True, _scheme='https')\n"
    ),
)

RULES = (CLEARTEXT_LINK,)


@dataclass(frozen=True, kw_only=True)
class LinkSeen:
    url: str
    where: str
    response_url: str


def _json_strings(value: object, path: str, budget: list[int]) -> Iterator[tuple[str, str, str]]:
    """Yield (path, key, string) for each string in a parsed JSON value, within a node budget."""
    stack: list[tuple[object, str, str, int]] = [(value, path, "", 0)]
    while stack and budget[0] > 0:
        node, where, key, depth = stack.pop()
        budget[0] -= 1
        if isinstance(node, str):
            yield where, key, node
        elif depth < _MAX_DEPTH and isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                stack.append((v, f"{where}.{k}", str(k), depth + 1))
        elif depth < _MAX_DEPTH and isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                stack.append((node[i], f"{where}[{i}]", key, depth + 1))


def find_cleartext_links(response: HttpResponse) -> list[LinkSeen]:
    """The http:// URLs in ``response``'s link headers and JSON body."""
    found: list[LinkSeen] = []
    for name in _LINK_HEADERS:
        for value in response.header_values(name):
            for match in _HTTP_URL.finditer(value):
                url = match.group(0)
                if not _IDENTIFIER_HOSTS.match(url):
                    found.append(
                        LinkSeen(url=url, where=f"header {name}", response_url=response.url)
                    )
    content_type = (response.header("content-type") or "").lower()
    body = response.body.lstrip()
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            document = _json.loads(response.body)
        except ValueError:
            return found
        for path, key, text in _json_strings(document, "$", [_MAX_NODES]):
            if key in _IDENTIFIER_KEYS or text[:7].lower() != "http://":
                continue
            if _IDENTIFIER_HOSTS.match(text):
                continue
            found.append(LinkSeen(url=text[:500], where=f"body {path}", response_url=response.url))
    return found


@dataclass(frozen=True, kw_only=True)
class MixedContentObservation:
    target: str
    https_responses: int
    links: tuple[LinkSeen, ...]
    internal_errors: tuple[str, ...] = ()
    #: Why the HTTPS side gave no response, when it exists but failed (not when nothing listens).
    https_failure: str = ""


def check(obs: MixedContentObservation) -> Sequence[Finding]:
    if obs.https_responses == 0:
        if obs.https_failure:
            raise not_tested(f"no HTTPS response: {obs.https_failure}")
        raise not_applicable("no HTTPS response to examine")
    findings: dict[str, Finding] = {}
    for link in obs.links[:50]:
        finding = CLEARTEXT_LINK.finding(
            target=obs.target,
            message=f"{redact_url(link.response_url)} returns a cleartext link in {link.where}.",
            evidence={"where": link.where, "url": redact_url(link.url)},
            location=link.where,
        )
        findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


FAMILY: Family[MixedContentObservation] = Family(
    name="mixed_content",
    title="Cleartext links in HTTPS responses",
    group="http",
    observation=MixedContentObservation,
    check=check,
)
