"""The error_pages family's probe: the error answers among the baseline responses and the
not-found page, matched at capture against the debug-page signatures.

Judged by :mod:`keywire.checks.error_pages`.
"""

from __future__ import annotations

from ..checks.error_pages import ErrorPageObservation, ErrorPageSeen, match_signatures
from ._context import ProbeContext
from ._sources import not_found_page


async def probe(ctx: ProbeContext) -> ErrorPageObservation:
    responses = list(await ctx.responses())
    if responses:
        page = await not_found_page(ctx)
        if page is not None:
            responses.append(page)
    errors = [r for r in responses if r.status >= 400]
    seen = [
        ErrorPageSeen(url=r.url, status=r.status, signature=s)
        for r in errors
        for s in match_signatures(r.body)
    ]
    return ErrorPageObservation(
        target=ctx.target.url, error_responses=len(errors), seen=tuple(seen)
    )
