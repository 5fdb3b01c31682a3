"""The cookies family's probe: the ``Set-Cookie`` headers of every baseline response, reduced at
capture to each cookie's name and attribute names (never its value).

No request of its own. Judged by :mod:`keywire.checks.cookies`.
"""

from __future__ import annotations

from ..checks.cookies import CookieObservation, parse_set_cookie
from ..net.http import HttpResponse
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> CookieObservation:
    responses: list[HttpResponse] = list(await ctx.responses())
    cookies = []
    for response in responses:
        for header in response.header_values("set-cookie"):
            cookie = parse_set_cookie(header, url=response.url, scheme=response.scheme)
            if cookie is not None:
                cookies.append(cookie)
    return CookieObservation(
        target=ctx.target.url, responses_seen=len(responses), cookies=tuple(cookies)
    )
