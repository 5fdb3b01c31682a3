"""More responses to search for exposed data: an error page and the JavaScript a page links to.

Both are plain anonymous GET requests, made once per target (shared through ``ctx.once``):

* the *not-found page*: a path that cannot exist (``/kw-not-found-<random>``); error pages are
  where frameworks print stack traces, configuration and keys in debug mode;
* *linked scripts*: ``<script src>`` URLs on the same host in HTML responses, at most
  :data:`MAX_SCRIPTS`, each read up to the client's body cap; bundles are where front-end build
  tools inline API keys.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urljoin, urlsplit

from ..net.http import HttpResponse
from ._context import ProbeContext

MAX_SCRIPTS = 5
_SCRIPT_SRC = re.compile(rb"""<script\b[^>]{0,500}?\bsrc\s*=\s*["']?([^"'\s>]{1,2048})""", re.I)


async def _base(ctx: ProbeContext) -> str:
    return await ctx.https_side() or ctx.target.url


async def not_found_page(ctx: ProbeContext) -> HttpResponse | None:
    """The answer to a path that does not exist on the target's host (preferring HTTPS)."""

    async def make() -> HttpResponse | None:
        url = urljoin(await _base(ctx), f"/kw-not-found-{secrets.token_hex(6)}")
        fetched = await ctx.fetch(url, probe="not-found-page")
        return fetched if isinstance(fetched, HttpResponse) else None

    return await ctx.once(("not-found-page",), make)


def script_urls(response: HttpResponse) -> list[str]:
    """Same-host ``<script src>`` URLs of an HTML response, in document order."""
    content_type = (response.header("content-type") or "").lower()
    if "html" not in content_type:
        return []
    host = (urlsplit(response.url).hostname or "").lower()
    found: list[str] = []
    for match in _SCRIPT_SRC.finditer(response.body):
        raw = match.group(1).decode("utf-8", "replace")
        try:
            url = urljoin(response.url, raw)
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and (parts.hostname or "").lower() == host:
            url = url.split("#", 1)[0]
            if url not in found:
                found.append(url)
    return found


async def linked_scripts(ctx: ProbeContext) -> tuple[HttpResponse, ...]:
    """Up to :data:`MAX_SCRIPTS` same-host scripts linked from the target's HTML responses."""

    async def make() -> tuple[HttpResponse, ...]:
        urls: list[str] = []
        for response in await ctx.responses():
            for url in script_urls(response):
                if url not in urls:
                    urls.append(url)
        scripts: list[HttpResponse] = []
        for url in urls[:MAX_SCRIPTS]:
            fetched = await ctx.fetch(url, probe="linked-script")
            if isinstance(fetched, HttpResponse) and 200 <= fetched.status < 300:
                scripts.append(fetched)
        return tuple(scripts)

    return await ctx.once(("linked-scripts",), make)
