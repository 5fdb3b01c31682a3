"""The mixed_content family's probe: the http:// links in the HTTPS responses' link headers and
JSON bodies.

No request of its own. Judged by :mod:`keywire.checks.mixed_content`.
"""

from __future__ import annotations

from ..checks._base import Isolation
from ..checks.mixed_content import LinkSeen, MixedContentObservation, find_cleartext_links
from ..redact import redact_url
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> MixedContentObservation:
    responses = [r for r in await ctx.responses() if r.scheme == "https"]
    links: list[LinkSeen] = []
    isolation = Isolation()
    for response in responses:
        with isolation.item(f"reading the links of {redact_url(response.url)}"):
            links.extend(find_cleartext_links(response))
    https = await ctx.https_chain()
    failure = https.failure if https is not None and not https.hops else None
    return MixedContentObservation(
        target=ctx.target.url,
        https_responses=len(responses),
        links=tuple(links),
        internal_errors=isolation.errors,
        https_failure=(
            f"{redact_url(failure.url)}: {failure.reason}"
            if failure is not None and not failure.is_refusal
            else ""
        ),
    )
