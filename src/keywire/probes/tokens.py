"""The tokens family's probe: token-like values in the baseline responses, analysed structurally
where they are captured (only their redacted forms are kept).

No request of its own. Judged by :mod:`keywire.checks.tokens`.
"""

from __future__ import annotations

import time

from ..checks._base import Isolation
from ..checks.tokens import TokensObservation, capture
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> TokensObservation:
    responses = await ctx.responses()
    isolation = Isolation()
    return TokensObservation(
        target=ctx.target.url,
        responses_seen=len(responses),
        tokens=capture(responses, seen_at=time.time(), isolation=isolation),
        internal_errors=isolation.errors,
    )
