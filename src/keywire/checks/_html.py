"""A bounded read of an HTML page: its forms and the resources it loads, with absolute URLs.

Built on the standard library's :class:`html.parser.HTMLParser` (a real tokenizer: comments,
``<script>`` bodies and attribute quoting are handled as browsers do), with caps so that a
hostile page costs a bounded amount of work: at most :data:`MAX_BYTES` of the body,
:data:`MAX_TAGS` start tags and :data:`MAX_SECONDS` of parsing; past a cap the page is read as far
as it got and :attr:`Page.cut_short` says why. URLs are resolved against the document's base URL
(the first ``<base href>``, wherever it is, as browsers do) and kept at most 2,048 characters.

>>> page = parse_page(b'<form action="http://x.test/login"><input type="password" name="pw">'
...                   b'</form><script src="//cdn.test/a.js"></script>', "https://api.test/docs")
>>> [(f.action, f.sensitive_fields) for f in page.forms]
[('http://x.test/login', ('pw',))]
>>> [(r.kind, r.url) for r in page.resources]
[('script', 'https://cdn.test/a.js')]
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

from .._dataclass import dataclass
from .html_pages import FormSeen, ResourceSeen

MAX_BYTES = 1024 * 1024
MAX_TAGS = 20_000
MAX_SECONDS = 0.5
MAX_URL = 2048
MAX_ITEMS = 200
#: Fed 4 KiB at a time, so the deadline is checked often even when each feed re-reads a
#: pending construct.
_CHUNK = 4 * 1024

#: Field names that carry a credential (a password, an API key, a token or a client secret).
_SENSITIVE_NAME = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|api[-_]?key|apikey|access[-_]?key|private[-_]?key|"
    r"(access|refresh|auth|bearer|id)[-_]?token|^token$|client[-_]?secret|credential|^key$",
    re.I,
)
_RAW_TEXT = frozenset({"textarea", "title", "xmp", "iframe", "noembed", "noframes"})
_NOT_A_CREDENTIAL = re.compile(r"csrf|xsrf|captcha|nonce|state|authenticity", re.I)


@dataclass(frozen=True, kw_only=True)
class Page:
    forms: tuple[FormSeen, ...] = ()
    resources: tuple[ResourceSeen, ...] = ()
    cut_short: str = ""


class _Stop(Exception):
    pass


@dataclass
class _Form:
    action: str | None
    method: str
    formactions: list[str]
    sensitive: list[str]


def _sensitive(attributes: dict[str, str]) -> str | None:
    """The field's name when it carries a credential, else None."""
    kind = attributes.get("type", "text").strip().lower()
    name = (attributes.get("name") or attributes.get("id") or "").strip()[:100]
    if kind == "password":
        return name or "(password field)"
    if "password" in attributes.get("autocomplete", "").lower():
        return name or "(password field)"
    if kind in ("submit", "button", "reset", "image", "checkbox", "radio", "file"):
        return None
    if name and _SENSITIVE_NAME.search(name) and not _NOT_A_CREDENTIAL.search(name):
        return name
    return None


class _Collector(HTMLParser):
    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.deadline = deadline
        self.tags = 0
        self.base: str | None = None
        self.forms: list[_Form] = []
        self.open_form: _Form | None = None
        self.resources: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)
        if tag in _RAW_TEXT:
            # Browsers read these elements' content as text, not markup; the tokenizer only
            # knows so for script and style.
            self.set_cdata_mode(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if self.tags > MAX_TAGS:
            raise _Stop(f"more than {MAX_TAGS:,} tags")
        if self.tags % 64 == 0 and time.monotonic() > self.deadline:
            raise _Stop(f"parsing took more than {MAX_SECONDS:g}s")
        attributes: dict[str, str] = {}
        for key, value in attrs[:64]:
            attributes.setdefault(key.lower(), (value or "")[:MAX_URL])
        self._element(tag, attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.open_form = None

    def _add(self, kind: str, url: str | None) -> None:
        if url and url.strip() and len(self.resources) < MAX_ITEMS:
            self.resources.append((kind, url.strip()))

    def _element(self, tag: str, a: dict[str, str]) -> None:
        if tag == "base" and self.base is None and "href" in a:
            self.base = a["href"].strip()
        elif tag == "form":
            form = _Form(
                action=a.get("action"),
                method=(a.get("method") or "get").strip().lower()[:10],
                formactions=[],
                sensitive=[],
            )
            if len(self.forms) < MAX_ITEMS:
                self.forms.append(form)
            self.open_form = form
        elif tag in ("input", "button", "textarea", "select"):
            current = self.open_form
            if current is None:
                return
            if "formaction" in a and len(current.formactions) < 16:
                current.formactions.append(a["formaction"])
            if tag != "button":
                name = _sensitive(a)
                if name is not None and len(current.sensitive) < 32:
                    current.sensitive.append(name)
        elif tag == "script":
            self._add("script", a.get("src"))
        elif tag == "link":
            rel = a.get("rel", "").lower().split()
            if "stylesheet" in rel:
                self._add("stylesheet", a.get("href"))
            elif "modulepreload" in rel or (
                "preload" in rel and a.get("as", "").lower() in ("script", "style")
            ):
                kind = "stylesheet" if a.get("as", "").lower() == "style" else "script"
                self._add(kind, a.get("href"))
        elif tag in ("iframe", "frame", "embed"):
            self._add(tag, a.get("src"))
        elif tag == "object":
            self._add("object", a.get("data"))


def _absolute(base: str, url: str) -> str:
    try:
        return urljoin(base, url.strip())[:MAX_URL]
    except ValueError:
        return url.strip()[:MAX_URL]


def parse_page(body: bytes, url: str) -> Page:
    """The forms and loaded resources of the HTML page ``body`` served at ``url`` (bounded)."""
    collector = _Collector(time.monotonic() + MAX_SECONDS)
    text = body[:MAX_BYTES].decode("utf-8", "replace")
    cut = f"only the first {MAX_BYTES // 1024} KiB were read" if len(body) > MAX_BYTES else ""
    try:
        for start in range(0, len(text), _CHUNK):
            collector.feed(text[start : start + _CHUNK])
            if time.monotonic() > collector.deadline:
                raise _Stop(f"parsing took more than {MAX_SECONDS:g}s")
        # The tokenizer keeps an unterminated construct ("</", "<?", "<!--" without its end)
        # and all that follows; closing reads that back once per character, which is
        # quadratic (minutes for a hostile megabyte). Browsers make text or a comment of it,
        # never an element: only a short remainder is worth closing.
        if len(collector.rawdata) <= _CHUNK:
            collector.close()
    except _Stop as stop:
        cut = str(stop)
    except (AssertionError, ValueError) as exc:  # the tokenizer's own complaints
        cut = f"the page could not be parsed past a point ({type(exc).__name__})"
    base = _absolute(url, collector.base) if collector.base else url
    forms: list[FormSeen] = []
    for form in collector.forms:
        # An absent or empty action submits to the document's own URL (not the base URL).
        action = form.action.strip() if form.action is not None else ""
        target = _absolute(base, action) if action else url
        sensitive = tuple(dict.fromkeys(form.sensitive))
        forms.append(FormSeen(action=target, method=form.method, sensitive_fields=sensitive))
        for override in form.formactions:
            if override.strip():
                forms.append(
                    FormSeen(
                        action=_absolute(base, override),
                        method=form.method,
                        sensitive_fields=sensitive,
                        via="formaction",
                    )
                )
    resources = tuple(ResourceSeen(kind=k, url=_absolute(base, u)) for k, u in collector.resources)
    return Page(forms=tuple(forms), resources=resources, cut_short=cut)
