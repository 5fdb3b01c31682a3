"""The proxy_headers family's probe: a cleartext request that refuses or redirects is sent again
with each spoofed proxy header (``X-Forwarded-Proto: https``, ``Forwarded: proto=https``...).

Judged by :mod:`keywire.checks.proxy_headers`.
"""

from __future__ import annotations

from ..checks._base import serves_content
from ..checks.proxy_headers import SPOOFED_HEADERS, ProxyHeaderObservation
from ..net.http import Fetched, HttpResponse
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> ProxyHeaderObservation:
    chain = await ctx.http_chain()
    if chain is None:
        return ProxyHeaderObservation(
            target=ctx.target.url, http_url=None, baseline=None, spoofed=()
        )
    baseline = chain.first
    spoofed: list[tuple[str, str, Fetched]] = []
    if isinstance(baseline, HttpResponse) and not serves_content(baseline):
        for name, value in SPOOFED_HEADERS:
            response = await ctx.fetch(
                chain.start, probe=f"spoof-{name.lower()}", headers={name: value}
            )
            spoofed.append((name, value, response))
    return ProxyHeaderObservation(
        target=ctx.target.url, http_url=chain.start, baseline=baseline, spoofed=tuple(spoofed)
    )
