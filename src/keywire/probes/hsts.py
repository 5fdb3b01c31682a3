"""The hsts family's probe: both sides' baseline chains (shared, no request of its own).

Judged by :mod:`keywire.checks.hsts`.
"""

from __future__ import annotations

from ..checks.hsts import HstsObservation
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> HstsObservation:
    return HstsObservation(
        target=ctx.target.url, https=await ctx.https_chain(), http=await ctx.http_chain()
    )
