"""The redirects family's probe: both sides' baseline chains (shared, no request of its own).

Judged by :mod:`keywire.checks.redirects`.
"""

from __future__ import annotations

from ..checks.redirects import RedirectObservation
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> RedirectObservation:
    return RedirectObservation(
        target=ctx.target.url,
        host=ctx.target.host,
        http_chain=await ctx.http_chain(),
        https_chain=await ctx.https_chain(),
    )
