"""The exposure family's probe: every baseline response, the not-found page and linked scripts,
searched for secrets where they are captured (only their redacted forms are kept).

Judged by :mod:`keywire.checks.exposure`.
"""

from __future__ import annotations

from ..checks._base import Isolation
from ..checks.exposure import (
    ExposureObservation,
    LocationCredential,
    location_credentials,
    scan_response,
)
from ..net.http import HttpResponse
from ..redact import redact_url
from ..secrets import SecretHit
from ._context import ProbeContext
from ._sources import linked_scripts, not_found_page


async def probe(ctx: ProbeContext) -> ExposureObservation:
    responses = list(await ctx.responses())
    extra: list[HttpResponse] = []
    if responses:
        error_page = await not_found_page(ctx)
        if error_page is not None:
            extra.append(error_page)
        extra.extend(await linked_scripts(ctx))
    hits: list[tuple[str, SecretHit]] = []
    credentials: list[LocationCredential] = []
    isolation = Isolation()
    for response in responses + extra:
        # One response (or one candidate in it) that trips keywire up must not cost the
        # secrets found everywhere else: each is searched in isolation.
        errors: list[str] = []
        with isolation.item(f"searching {redact_url(response.url)}"):
            hits.extend((response.url, hit) for hit in scan_response(response, errors))
        for error in errors:
            isolation.add(f"{error} in {redact_url(response.url)}")
        with isolation.item(f"reading the Location of {redact_url(response.url)}"):
            credentials.extend(location_credentials(response))
    return ExposureObservation(
        target=ctx.target.url,
        responses_seen=len(responses),
        hits=tuple(hits),
        location_credentials=tuple(credentials),
        internal_errors=isolation.errors,
    )
