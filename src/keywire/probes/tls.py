"""The tls family's probe: the raw TLS scan of the target's HTTPS side and each chain's analysis.

Run once per target (the ``revocation`` probe reads the same scan). What it establishes is said
in :mod:`keywire.checks.tls`, which judges it.
"""

from __future__ import annotations

import datetime
import ipaddress
from urllib.parse import urlsplit

from ..checks.tls import TlsObservation
from ..net.resolver import ResolutionError
from ._context import ProbeContext


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def probe(ctx: ProbeContext) -> TlsObservation:
    """The TLS scan of the target's HTTPS side, run once per target (``revocation`` reads it too)."""
    return await ctx.once(("tls-scan",), lambda: _scan(ctx))


async def _scan(ctx: ProbeContext) -> TlsObservation:
    from ..tls.certs import analyse_chain, load_trust_store
    from ..tls.connection import Dialer, Endpoint, first_reachable
    from ..tls.scan import scan_endpoint

    target = ctx.target.url
    url = await ctx.https_side()
    if url is None:
        return TlsObservation(
            target=target,
            skipped=(
                "no HTTPS side is known for this target: it answered without redirecting to "
                "https:// on the same host; pass --https-port PORT to scan its HTTPS side"
            ),
        )
    parts = urlsplit(url)
    host = parts.hostname or ctx.target.host
    port = parts.port or 443
    endpoint_label = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    counterpart = not ctx.target.is_https
    redirected = counterpart and url != ctx.target.https_url
    try:
        addresses = await ctx.http.resolver.resolve(host)
    except ResolutionError as exc:
        return TlsObservation(
            target=target,
            endpoint=endpoint_label,
            failure=str(exc),
            counterpart=counterpart,
            named_by_redirect=redirected,
        )
    timeout = ctx.http.settings.timeout
    address = addresses[0]
    if len(addresses) > 1:
        address = (
            await first_reachable(
                addresses, port, timeout=timeout, slot=ctx.http.host_slot(host, port)
            )
            or address
        )
    dialer = Dialer(slot=lambda name: ctx.http.host_slot(name, port, address), timeout=timeout)
    endpoint = Endpoint(
        host=host,
        address=address,
        port=port,
        server_name=None if _is_ip(host) else host,
    )
    result = await scan_endpoint(
        dialer, endpoint, vulnerability_probes=ctx.settings.vulnerability_probes
    )
    if not result.reachable:
        return TlsObservation(
            target=target,
            endpoint=endpoint_label,
            scan=result,
            failure=result.error,
            counterpart=counterpart,
            named_by_redirect=redirected,
        )
    ctx.mark_reached()
    store = load_trust_store(ctx.http.settings.ca_file)
    now = datetime.datetime.now(datetime.timezone.utc)
    chains = tuple(
        analyse_chain(c.certificates, hostname=host, store=store, now=now, seen_with=c.seen_with)
        for c in result.chains
    )
    return TlsObservation(
        target=target,
        endpoint=endpoint_label,
        scan=result,
        chains=chains,
        named_by_redirect=redirected,
    )
