"""The breach family's probe: the HTTPS side asked for a compressed answer, with a random marker
in two query parameters; what comes back is reduced at capture (the encoding, whether the marker
is reflected, the redacted secrets next to it).

Judged by :mod:`keywire.checks.breach`.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

from ..checks.breach import ACCEPT_ENCODING, BreachObservation, secret_shaped
from ..net.http import FetchFailure, HttpResponse
from ..redact import redact_url
from ._context import ProbeContext


def _with_marker(url: str, marker: str) -> str:
    parts = urlsplit(url)
    extra = f"q={marker}&keywire={marker}"
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def _encoding(response: HttpResponse) -> str:
    value = response.header("content-encoding") or ""
    tokens = [t.strip().lower() for t in value.split(",") if t.strip()]
    return tokens[-1][:20] if tokens else ""


async def probe(ctx: ProbeContext) -> BreachObservation:
    target = ctx.target.url
    side = await ctx.https_side()
    if side is None:
        return BreachObservation(target=target, skipped="no HTTPS side is known for this target")
    chain = await ctx.https_chain()
    if chain is None or not chain.hops:
        failure = chain.failure if chain is not None else None
        if failure is None or failure.is_refusal:
            return BreachObservation(target=target, skipped="the HTTPS side does not answer")
        return BreachObservation(
            target=target, failure=f"{redact_url(failure.url)}: {failure.reason}"
        )
    marker = "kw" + secrets.token_hex(10)
    base = chain.hops[-1].url
    url = _with_marker(base, marker)
    fetched = await ctx.fetch(url, probe="breach", headers={"Accept-Encoding": ACCEPT_ENCODING})
    if isinstance(fetched, FetchFailure):
        return BreachObservation(target=target, url=base, failure=fetched.reason)
    encoding = _encoding(fetched)
    body_from = fetched
    judged_on_compressed = True
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        # keywire does not decode br (or zstd): read the same answer uncompressed instead.
        again = await ctx.fetch(url, probe="breach", headers={"Accept-Encoding": "identity"})
        if isinstance(again, FetchFailure):
            return BreachObservation(
                target=target, url=base, encoding=encoding, failure=again.reason
            )
        body_from = again
        judged_on_compressed = False
    text = body_from.body.decode("utf-8", "replace")
    return BreachObservation(
        target=target,
        url=base,
        status=fetched.status,
        encoding=encoding,
        judged_on_compressed=judged_on_compressed,
        reflected=marker in text,
        secrets=tuple(secret_shaped(text, ignore=(marker,))),
    )
