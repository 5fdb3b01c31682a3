"""The html family's probe: the forms and embedded resources of the HTTPS side's HTML pages.

No request of its own. Judged by :mod:`keywire.checks.html_pages`.
"""

from __future__ import annotations

from ..checks.html_pages import MAX_PAGES, HtmlObservation, PageSeen, is_html
from ..redact import redact_url
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> HtmlObservation:
    from ..checks._html import parse_page

    responses = [r for r in await ctx.responses() if r.scheme == "https"]
    pages: list[PageSeen] = []
    seen: set[str] = set()
    for response in responses:
        if len(pages) >= MAX_PAGES or response.url in seen or not is_html(response):
            continue
        seen.add(response.url)
        page = parse_page(response.body, response.url)
        pages.append(
            PageSeen(
                url=response.url,
                forms=page.forms,
                resources=page.resources,
                cut_short=page.cut_short,
            )
        )
    https = await ctx.https_chain()
    failure = https.failure if https is not None and not https.hops else None
    return HtmlObservation(
        target=ctx.target.url,
        https_responses=len(responses),
        pages=tuple(pages),
        https_failure=(
            f"{redact_url(failure.url)}: {failure.reason}"
            if failure is not None and not failure.is_refusal
            else ""
        ),
    )
