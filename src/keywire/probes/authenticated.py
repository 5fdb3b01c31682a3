"""The authenticated family's probe: the target asked with the user's credentials, only over
verified HTTPS to the origin the user named (:meth:`ProbeContext.authenticated`).

Echoes of the credential, cookies and personal data are found at capture; the answer's body is
not kept in the observation. Judged by :mod:`keywire.checks.authenticated`.
"""

from __future__ import annotations

from ..checks.authenticated import AuthenticatedObservation, _cookies, find_echoes
from ..net.http import HttpResponse
from ..secrets.pii import find_pii
from ._context import ProbeContext


async def probe(ctx: ProbeContext) -> AuthenticatedObservation:
    if not ctx.settings.has_credentials:
        return AuthenticatedObservation(target=ctx.target.url, given=False)
    response = await ctx.authenticated()
    credentials = ctx.http.settings.credentials
    headers = tuple(credentials)
    if not isinstance(response, HttpResponse):
        return AuthenticatedObservation(
            target=ctx.target.url, given=True, credential_headers=headers, response=response
        )
    anonymous: frozenset[str] = frozenset()
    chain = await ctx.https_chain()
    if chain is not None and chain.hops:
        anonymous = frozenset(c.name for c in _cookies(chain.hops[0]))
    ok = 200 <= response.status < 300
    return AuthenticatedObservation(
        target=ctx.target.url,
        given=True,
        credential_headers=headers,
        response=response,
        echoes=tuple(find_echoes(response, credentials)),
        cookies=tuple(_cookies(response)),
        anonymous_cookies=anonymous,
        pii=tuple(find_pii(response.body.decode("utf-8", "replace"))) if ok else (),
    )
