"""The query_keys family's probe: the target with a canary in every credential query parameter.

One request with all of them; when its answer differs from the baseline beyond an echo, the
baseline again and one request per parameter, to name the one the API reads. Read to
:data:`~keywire.checks._compare.COMPARED_BYTES`. Judged by :mod:`keywire.checks.query_keys`.
"""

from __future__ import annotations

from ..checks._compare import COMPARED_BYTES, answers_differ
from ..checks.query_keys import KEY_PARAMETERS, QueryKeyObservation, _with_params
from ..net.http import Fetched, HttpResponse
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> QueryKeyObservation:
    url: str | None = None
    baseline: Fetched | None = None
    for chain in (await ctx.https_chain(), await ctx.http_chain()):
        if chain is not None and chain.hops:
            url, baseline = chain.start, chain.first
            break
    if url is None or not isinstance(baseline, HttpResponse):
        fallback = await ctx.https_chain() or await ctx.http_chain()
        return QueryKeyObservation(
            target=ctx.target.url,
            url=None,
            baseline=fallback.first if fallback is not None else None,
            combined=None,
            single=(),
            baseline_repeat=None,
            canary=ctx.canary,
        )
    combined = await ctx.fetch(
        _with_params(url, dict.fromkeys(KEY_PARAMETERS, ctx.canary)),
        probe="query-key-all",
        body_cap=COMPARED_BYTES,
    )
    single: list[tuple[str, Fetched]] = []
    repeat: Fetched | None = None
    if answers_differ(baseline, combined, ctx.canary, KEY_PARAMETERS):
        repeat = await ctx.fetch(url, probe="query-key-baseline-repeat", body_cap=COMPARED_BYTES)
        for name in KEY_PARAMETERS:
            response = await ctx.fetch(
                _with_params(url, {name: ctx.canary}),
                probe=f"query-key-{name}",
                body_cap=COMPARED_BYTES,
            )
            single.append((name, response))
    return QueryKeyObservation(
        target=ctx.target.url,
        url=url,
        baseline=baseline,
        combined=combined,
        single=tuple(single),
        baseline_repeat=repeat,
        canary=ctx.canary,
    )
