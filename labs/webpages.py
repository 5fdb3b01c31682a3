"""HTML pages and compressed answers for the lab: mixed content, cleartext forms and BREACH.

Each :class:`PageProfile` is one WSGI app (serve it over HTTPS with
:class:`~keywire.lab.LabServer`) that answers every path with one page, and names the rule IDs a
scan of it must report (``expect``) and its near miss: a profile that differs only in the flaw
and must report none of them.

The BREACH profiles compress (gzip, deflate or br, when the client accepts it), reflect the
query string's values into the body, and carry a fresh random CSRF-style token in each answer;
their near misses drop exactly one of the three. (br is written as *stored* meta-blocks, which
every brotli decoder reads, so the lab needs no brotli library: :func:`brotli_stored`.)
"""

from __future__ import annotations

import gzip
import html
import json
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

HTML = "text/html; charset=utf-8"
JSON = "application/json"
HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


@dataclass(frozen=True, kw_only=True)
class PageProfile:
    """One lab page. ``body`` is served as is unless the BREACH switches are used."""

    name: str
    expect: frozenset[str] = frozenset()
    #: Expected severities where they differ from the rule's default, by rule ID.
    severities: tuple[tuple[str, str], ...] = ()
    near_miss: str = ""
    body: str = ""
    content_type: str = HTML
    #: "gzip", "deflate" or "br": compress when the request's Accept-Encoding allows it.
    compress: str | None = None
    #: Repeat the query string's values in the body.
    reflect: bool = False
    #: Put a fresh random CSRF token in the body.
    secret: bool = False


def _page(title: str, inner: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><h1>{title}</h1>{inner}</body></html>"
    )


def _login(action: str) -> str:
    return _page(
        "Sign in to the API console",
        f"<form action='{action}' method='post'><label>User <input name='username'></label>"
        "<label>Password <input type='password' name='password'></label>"
        "<button type='submit'>Sign in</button></form>",
    )


def _key_form(action: str) -> str:
    return _page(
        "Try the API",
        f'<form method="get" action="{action}"><input name="api_key" placeholder="Your API key">'
        '<input name="q"><input type="submit" value="Send"></form>',
    )


def _swagger(scheme: str) -> str:
    return _page(
        "API documentation",
        "<div id='swagger-ui'></div>"
        f"<script src='{scheme}://cdn.lab.test/swagger-ui/swagger-ui-bundle.js'></script>"
        "<script>SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'})</script>",
        head="<link rel='stylesheet' href='/static/swagger-ui.css'>",
    )


def _styled(scheme: str) -> str:
    return _page(
        "API status",
        "<p>All systems operational.</p>",
        head=f"<link rel='stylesheet' href='{scheme}://cdn.lab.test/status.css'>",
    )


def _consent(scheme: str) -> str:
    return _page(
        "Authorize the application",
        f"<iframe src='{scheme}://login.lab.test/oauth/consent' width='400'></iframe>",
    )


def _based(scheme: str) -> str:
    return _page(
        "Developer portal",
        "<script src='js/portal.js'></script><form action='keys' method='post'>"
        "<input name='client_id'><input type='password' name='client_secret'>"
        "<button>Create key</button></form>",
        head=f"<base href='{scheme}://portal.lab.test/'>",
    )


def _profile(name: str, expect: Iterable[str] = (), **kw: Any) -> PageProfile:
    return PageProfile(name=name, expect=frozenset(expect), **kw)


PAGE_PROFILES: tuple[PageProfile, ...] = (
    # Forms that submit over cleartext (KW171): high with a credential field.
    _profile(
        "login-form-http",
        ["KW171"],
        severities=(("KW171", "high"),),
        near_miss="login-form-https",
        body=_login("http://login.lab.test/session"),
    ),
    _profile("login-form-https", body=_login("https://login.lab.test/session")),
    _profile(
        "key-form-http",
        ["KW171"],
        severities=(("KW171", "high"),),
        near_miss="key-form-https",
        body=_key_form("http://api.lab.test/v1/try"),
    ),
    _profile("key-form-https", body=_key_form("https://api.lab.test/v1/try")),
    _profile(
        "search-form-http",
        ["KW171"],
        severities=(("KW171", "medium"),),
        near_miss="search-form-relative",
        body=_page("Search", "<form action='http://api.lab.test/search'><input name='q'></form>"),
    ),
    _profile(
        "search-form-relative",
        body=_page("Search", "<form action='/search'><input name='q'></form>"),
    ),
    # Active mixed content (KW172) and frames (KW173).
    _profile("swagger-ui-http", ["KW172"], near_miss="swagger-ui-https", body=_swagger("http")),
    _profile("swagger-ui-https", body=_swagger("https")),
    _profile("stylesheet-http", ["KW172"], near_miss="stylesheet-https", body=_styled("http")),
    _profile("stylesheet-https", body=_styled("https")),
    _profile("iframe-http", ["KW173"], near_miss="iframe-https", body=_consent("http")),
    _profile("iframe-https", body=_consent("https")),
    _profile(
        "base-http",
        ["KW171", "KW172"],
        severities=(("KW171", "high"),),
        near_miss="base-https",
        body=_based("http"),
    ),
    _profile("base-https", body=_based("https")),
    # The same markup as text in a JSON answer is not a page (near miss of swagger-ui-http).
    _profile(
        "markup-in-json",
        body=json.dumps({"snippet": _swagger("http")}),
        content_type=JSON,
    ),
    # BREACH (KW709): compressed + reflected + secret.
    _profile(
        "breach-gzip",
        ["KW709"],
        near_miss="compressed-no-reflection",
        compress="gzip",
        reflect=True,
        secret=True,
        content_type=JSON,
    ),
    _profile(
        "breach-deflate",
        ["KW709"],
        near_miss="reflected-uncompressed",
        compress="deflate",
        reflect=True,
        secret=True,
        content_type=JSON,
    ),
    _profile(
        "breach-html",
        ["KW709"],
        near_miss="compressed-reflected-no-secret",
        compress="gzip",
        reflect=True,
        secret=True,
        content_type=HTML,
    ),
    _profile(
        "breach-br",
        ["KW709"],
        near_miss="reflected-uncompressed",
        compress="br",
        reflect=True,
        secret=True,
        content_type=JSON,
    ),
    _profile("compressed-no-reflection", compress="gzip", secret=True, content_type=JSON),
    _profile("reflected-uncompressed", reflect=True, secret=True, content_type=JSON),
    _profile("compressed-reflected-no-secret", compress="gzip", reflect=True, content_type=HTML),
)


def page_profile(name: str) -> PageProfile:
    for item in PAGE_PROFILES:
        if item.name == name:
            return item
    raise KeyError(name)


def brotli_stored(data: bytes) -> bytes:
    r"""``data`` as a valid brotli stream of uncompressed meta-blocks (RFC 7932, section 9.2).

    >>> brotli_stored(b"hi")
    b'\x10\x00\x10hi\x03'
    """
    out = bytearray()
    bits = count = 0

    def put(value: int, width: int) -> None:
        nonlocal bits, count
        bits |= value << count
        count += width
        while count >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            count -= 8

    def align() -> None:
        nonlocal bits, count
        if count:
            out.append(bits & 0xFF)
            bits = count = 0

    put(0, 1)  # WBITS: a 16-bit window
    for start in range(0, len(data), 1 << 16):
        chunk = data[start : start + (1 << 16)]
        put(0, 1)  # ISLAST = 0 (an uncompressed meta-block is never the last)
        put(0, 2)  # MNIBBLES = 4
        put(len(chunk) - 1, 16)  # MLEN - 1
        put(1, 1)  # ISUNCOMPRESSED
        align()
        out += chunk
    put(1, 1)  # ISLAST
    put(1, 1)  # ISLASTEMPTY
    align()
    return bytes(out)


def _dynamic(profile: PageProfile, query: str) -> bytes:
    values = [value for _, value in parse_qsl(query)][:10]
    token = secrets.token_urlsafe(32)
    if profile.content_type == HTML:
        shown = html.escape(" ".join(values)) if profile.reflect else ""
        hidden = (
            f"<input type='hidden' name='csrf_token' value='{token}'>" if profile.secret else ""
        )
        page = _page(
            "Search the catalogue",
            f"<p>Results for: {shown}</p><form method='post' action='/search'>{hidden}"
            "<input name='q'><button>Search</button></form>",
        )
        return page.encode()
    document: dict[str, object] = {"items": [], "total": 0}
    if profile.reflect:
        document["query"] = values
    if profile.secret:
        document["csrf_token"] = token
    return json.dumps(document).encode()


def make_page_app(profile: PageProfile) -> Any:
    """The WSGI app serving ``profile`` on every path."""
    dynamic = profile.compress is not None or profile.reflect or profile.secret

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if dynamic:
            body = _dynamic(profile, environ.get("QUERY_STRING", ""))
        else:
            body = profile.body.encode()
        headers = [("Content-Type", profile.content_type), HSTS, ("Vary", "Accept-Encoding")]
        accepted = environ.get("HTTP_ACCEPT_ENCODING", "").lower()
        if profile.compress == "gzip" and "gzip" in accepted:
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        elif profile.compress == "deflate" and "deflate" in accepted:
            body = zlib.compress(body)
            headers.append(("Content-Encoding", "deflate"))
        elif profile.compress == "br" and "br" in accepted:
            body = brotli_stored(body)
            headers.append(("Content-Encoding", "br"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]

    return app
