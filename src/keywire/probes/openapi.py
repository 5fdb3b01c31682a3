"""The openapi family's probe: a spec endpoint's anonymous answer, and the same with a canary in
each query parameter an ``apiKey`` scheme declares ``in: query``.

Judged by :mod:`keywire.checks.openapi`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from ..checks._compare import COMPARED_BYTES, answers_differ
from ..checks.openapi import OpenApiObservation
from ..net.http import Fetched, HttpResponse
from ..openapi.plan import EndpointTarget
from ._context import ProbeContext


def _with_param(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode({name: value})}"


async def probe(ctx: ProbeContext) -> OpenApiObservation:
    target = ctx.target
    if not isinstance(target, EndpointTarget):
        return OpenApiObservation(target=target.url, endpoint=None)
    endpoint = target.endpoint
    chain = await ctx.https_chain() if target.https_url else None
    if chain is None:
        chain = await ctx.http_chain()
    http_chain = await ctx.http_chain() if target.https_url else None
    anonymous = chain.first if chain is not None else None
    url = chain.start if chain is not None else target.url
    keys: list[tuple[str, str, Fetched]] = []
    repeat: Fetched | None = None
    if isinstance(anonymous, HttpResponse):
        for scheme, parameter in endpoint.query_keys:
            response = await ctx.fetch(
                _with_param(url, parameter, ctx.canary),
                probe=f"spec-query-key-{parameter}",
                body_cap=COMPARED_BYTES,
            )
            keys.append((scheme, parameter, response))
        if any(answers_differ(anonymous, r, ctx.canary, (p,)) for _, p, r in keys):
            repeat = await ctx.fetch(
                url, probe="spec-query-key-baseline-repeat", body_cap=COMPARED_BYTES
            )
    return OpenApiObservation(
        target=target.url,
        endpoint=endpoint,
        url=url,
        anonymous=anonymous,
        cleartext=http_chain.first if http_chain is not None else None,
        query_keys=tuple(keys),
        anonymous_repeat=repeat,
        canary=ctx.canary,
    )
