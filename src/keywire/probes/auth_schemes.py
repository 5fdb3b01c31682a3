"""The auth_schemes family's probe: the challenges (``WWW-Authenticate``) of every baseline response.

No request of its own. Judged by :mod:`keywire.checks.auth_schemes`.
"""

from __future__ import annotations

from ..checks.auth_schemes import AuthSchemeObservation, SeenChallenge, parse_challenges
from ..net.http import HttpResponse
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> AuthSchemeObservation:
    responses: list[HttpResponse] = list(await ctx.responses())
    seen: list[SeenChallenge] = []
    for response in responses:
        for header in response.header_values("www-authenticate"):
            for challenge in parse_challenges(header):
                seen.append(
                    SeenChallenge(
                        url=response.url, scheme_of_url=response.scheme, challenge=challenge
                    )
                )
    return AuthSchemeObservation(
        target=ctx.target.url, responses_seen=len(responses), challenges=tuple(seen)
    )
