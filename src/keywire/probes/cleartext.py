"""The cleartext family's probe: the cleartext side without, then with, a canary credential.

Three requests to the http:// side: the baseline (shared, :meth:`ProbeContext.http_chain`), then one
each with the canary in ``Authorization: Bearer`` and in ``X-API-Key`` (read to
:data:`~keywire.checks._compare.COMPARED_BYTES`); when an answer differs, the baseline once more, to
tell a reaction to the credential from an answer that changes anyway. Never the user's credential.
Judged by :mod:`keywire.checks.cleartext`.
"""

from __future__ import annotations

from ..checks._compare import COMPARED_BYTES
from ..checks.cleartext import CANARY_HEADERS, CleartextObservation, _differs
from ..net.http import Fetched, HttpResponse
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> CleartextObservation:
    chain = await ctx.http_chain()
    if chain is None:
        return CleartextObservation(
            target=ctx.target.url,
            http_url=None,
            missing_reason=ctx.target.counterpart_note or "no cleartext URL",
            baseline=None,
            canaries=(),
            baseline_repeat=None,
            canary=ctx.canary,
        )
    url = chain.start
    baseline = chain.first
    canaries: list[tuple[str, Fetched]] = []
    repeat: Fetched | None = None
    if isinstance(baseline, HttpResponse):
        for label, header, template in CANARY_HEADERS:
            response = await ctx.fetch(
                url,
                probe=f"canary-{label}",
                headers={header: template.format(canary=ctx.canary)},
                body_cap=COMPARED_BYTES,
            )
            canaries.append((label, response))
        if any(_differs(baseline, r, ctx.canary) for _, r in canaries):
            repeat = await ctx.fetch(url, probe="http-baseline-repeat", body_cap=COMPARED_BYTES)
    return CleartextObservation(
        target=ctx.target.url,
        http_url=url,
        missing_reason="",
        baseline=baseline,
        canaries=tuple(canaries),
        baseline_repeat=repeat,
        canary=ctx.canary,
    )
