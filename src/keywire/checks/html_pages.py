"""HTML pages on the API host: forms that submit over cleartext and active mixed content.

APIs serve HTML too: documentation (Swagger UI, Redoc), login and OAuth consent pages, key
management consoles. Every HTTPS response keywire gets for a target (the baseline and its
same-host redirects, the authenticated request) that is HTML (``Content-Type: text/html``, or a
body that starts as an HTML document) is parsed with a real, bounded HTML tokenizer
(:mod:`keywire.checks._html`, not regular expressions), and keywire reports:

- **forms that submit to http://** (KW171): whatever the user types, a password or an API key
  included, crosses the network in cleartext. High when the form has a password field or a field
  named like a key, token or secret; medium otherwise. A ``<base href="http://...">`` that turns
  a relative action into a cleartext one counts, and so does a button's ``formaction``;
- **scripts and stylesheets loaded over http://** (KW172, active mixed content): anyone on the
  path can replace them and run code in the page, next to the credentials typed into it;
- **frames, objects and embeds loaded over http://** (KW173).

JSON and other non-HTML answers are the ``mixed_content`` family's (KW170); passive content
(images, media) is not reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..net.models import HttpResponse
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested

MAX_PAGES = 10
_MDN_MIXED = "https://developer.mozilla.org/en-US/docs/Web/Security/Mixed_content"
_W3C_MIXED = "https://www.w3.org/TR/mixed-content/"
_CWE319 = "https://cwe.mitre.org/data/definitions/319.html"

CLEARTEXT_FORM = Rule(
    id="KW171",
    title="HTML form on an HTTPS page submits to http://",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "A page the API host serves over HTTPS has a form whose action (or a button's "
        "formaction, or a `<base href>` under a relative action) is an http:// URL. What the "
        "user submits, a login password, an API key, an OAuth consent, crosses the network in "
        "cleartext, readable and changeable by anyone on the path. The finding is high when the "
        "form has a password field or a field named like a key, token or secret."
    ),
    remediation=(
        "Make every form action https:// (or relative, on a page without an http:// `<base>`), "
        "redirect the http:// endpoint to https:// with HSTS, and add "
        "`Content-Security-Policy: form-action 'self' https:` as a safety net."
    ),
    references=(_CWE319, _W3C_MIXED, "https://www.w3.org/TR/CSP3/#directive-form-action"),
    flask_fix=(
        "# Build the action with url_for (relative) or force https for absolute URLs:\n"
        '# <form action="{{ url_for(\'login\') }}" method="post">\n'
        "app.config['PREFERRED_URL_SCHEME'] = 'https'\n"
    ),
)
MIXED_ACTIVE = Rule(
    id="KW172",
    title="HTTPS page loads scripts or stylesheets over http:// (active mixed content)",
    cwe=(319, 829),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "A page the API host serves over HTTPS loads a script or a stylesheet from an http:// "
        "URL. Anyone on the path can replace it and run their code in the page, with access to "
        "what users type there (passwords, API keys) and to the API with their session. Current "
        "browsers block such loads (and the page breaks); older browsers, embedded web views "
        "and tools that render the page do not."
    ),
    remediation=(
        "Load every script and stylesheet over https:// (or from the same origin), pin third-"
        "party files with Subresource Integrity, and send "
        "`Content-Security-Policy: upgrade-insecure-requests` (or `block-all-mixed-content`)."
    ),
    references=(_MDN_MIXED, _W3C_MIXED, "https://cwe.mitre.org/data/definitions/829.html"),
)
MIXED_FRAME = Rule(
    id="KW173",
    title="HTTPS page embeds a frame or object from http://",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "A page the API host serves over HTTPS embeds an iframe, frame, object or embed from an "
        "http:// URL. Its content, often a login or payment widget, travels in cleartext and "
        "can be replaced by anyone on the path, inside a page the user trusts because of its "
        "padlock."
    ),
    remediation=(
        "Embed frames and objects over https:// only, and send "
        "`Content-Security-Policy: upgrade-insecure-requests`."
    ),
    references=(_MDN_MIXED, _W3C_MIXED, _CWE319),
)

RULES = (CLEARTEXT_FORM, MIXED_ACTIVE, MIXED_FRAME)


@dataclass(frozen=True, kw_only=True)
class FormSeen:
    """A form: where it submits, how, and its fields that carry a credential."""

    action: str
    method: str
    sensitive_fields: tuple[str, ...] = ()
    #: "action" for the form's own target, "formaction" for a submit button's override.
    via: str = "action"


@dataclass(frozen=True, kw_only=True)
class ResourceSeen:
    """A subresource the page loads: ``script``, ``stylesheet``, ``iframe``, ``frame``,
    ``object`` or ``embed``."""

    kind: str
    url: str


@dataclass(frozen=True, kw_only=True)
class PageSeen:
    url: str
    forms: tuple[FormSeen, ...] = ()
    resources: tuple[ResourceSeen, ...] = ()
    cut_short: str = ""


@dataclass(frozen=True, kw_only=True)
class HtmlObservation:
    target: str
    https_responses: int
    pages: tuple[PageSeen, ...] = ()
    #: Why the HTTPS side gave no response, when it exists but failed (not when nothing listens).
    https_failure: str = ""


def is_html(response: HttpResponse) -> bool:
    """An HTML document: by its media type, or, without one, by how its body starts."""
    media = (response.header("content-type") or "").split(";")[0].strip().lower()
    if media:
        return media in ("text/html", "application/xhtml+xml")
    start = response.body[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _cleartext(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() == "http"
    except ValueError:
        return False


_FRAME_KINDS = frozenset({"iframe", "frame", "object", "embed"})


def check(obs: HtmlObservation) -> Sequence[Finding]:
    if obs.https_responses == 0:
        if obs.https_failure:
            raise not_tested(f"no HTTPS response: {obs.https_failure}")
        raise not_applicable("no HTTPS response to examine")
    findings: dict[str, Finding] = {}

    def add(
        rule: Rule,
        message: str,
        evidence: Mapping[str, str],
        location: str,
        severity: Severity | None = None,
    ) -> None:
        finding = rule.finding(
            target=obs.target,
            message=message,
            evidence=evidence,
            location=location,
            severity=severity,
        )
        findings.setdefault(finding.fingerprint, finding)

    for page in obs.pages:
        page_url = redact_url(page.url)
        for form in page.forms:
            if not _cleartext(form.action):
                continue
            action = redact_url(form.action)
            fields = ", ".join(form.sensitive_fields)
            what = f"with its credential fields ({fields}) " if fields else ""
            add(
                CLEARTEXT_FORM,
                f"{page_url} has a form that submits {what}to {action} over cleartext"
                + (" (through a button's formaction)." if form.via == "formaction" else "."),
                {
                    "page": page_url,
                    "action": action,
                    "method": form.method.upper(),
                    **({"credential_fields": fields} if fields else {}),
                },
                f"form:{urlsplit(page.url).path}:{action}",
                severity=Severity.HIGH if fields else None,
            )
        for resource in page.resources:
            if not _cleartext(resource.url):
                continue
            url = redact_url(resource.url)
            rule = MIXED_FRAME if resource.kind in _FRAME_KINDS else MIXED_ACTIVE
            article = "an" if resource.kind[0] in "aeiou" else "a"
            add(
                rule,
                f"{page_url} loads {article} {resource.kind} from {url} over cleartext.",
                {"page": page_url, "element": resource.kind, "url": url},
                f"{resource.kind}:{urlsplit(page.url).path}:{url}",
            )
    cut = [f"{redact_url(p.url)}: {p.cut_short}" for p in obs.pages if p.cut_short]
    if cut:
        raise not_tested(
            "part of an HTML page was not examined: " + "; ".join(cut[:3]),
            findings=list(findings.values()),
        )
    return list(findings.values())


def details(obs: HtmlObservation) -> Mapping[str, object]:
    return {
        "pages": [
            {
                "url": redact_url(p.url),
                "forms": len(p.forms),
                "resources": len(p.resources),
                **({"cut_short": p.cut_short} if p.cut_short else {}),
            }
            for p in obs.pages
        ]
    }


FAMILY: Family[HtmlObservation] = Family(
    name="html",
    title="HTML pages: cleartext forms and active mixed content",
    group="http",
    observation=HtmlObservation,
    check=check,
    details=details,
)
