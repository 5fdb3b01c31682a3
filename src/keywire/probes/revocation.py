"""The revocation family's probe: for the leaf of each chain the TLS scan received (shared with
the tls family), the stapled OCSP response, then the certificate's OCSP responders, then its
CRLs, until one answer can be believed (see :mod:`keywire.checks.revocation` for what is sent and
what is never fetched). Each answer is checked here (:mod:`keywire.tls.revocation`) and kept
as an :class:`~keywire.tls.revocation_facts.Answer`.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..checks.revocation import LeafRevocation, RevocationObservation
from ..net.models import FetchFailure
from ..net.resolver import ResolutionError
from . import tls
from ._context import ProbeContext

OCSP_CAP = 64 * 1024
CRL_CAP = 10 * 1024 * 1024
MAX_CHAINS = 4
#: All the lookups for one certificate together take at most this many --timeout periods.
LOOKUP_BUDGET_TIMEOUTS = 4

if TYPE_CHECKING:
    from cryptography import x509

    from ..tls.certs import TrustStore
    from ..tls.results import Chain
    from ..tls.revocation_facts import Answer


async def probe(ctx: ProbeContext) -> RevocationObservation:
    from ..tls.certs import load_trust_store

    observed = await tls.probe(ctx)  # shared with the tls family: one TLS scan per target
    target = ctx.target.url
    if observed.skipped or observed.scan is None or observed.failure:
        return RevocationObservation(
            target=target,
            endpoint=observed.endpoint,
            skipped=observed.skipped,
            failure=observed.failure or ("" if observed.skipped else "no TLS scan result"),
            counterpart=observed.counterpart,
        )
    scan = observed.scan
    store = load_trust_store(ctx.http.settings.ca_file)
    now = datetime.datetime.now(datetime.timezone.utc)
    leaves = [
        await _leaf_revocation(ctx, chain, store, now, scan.address)
        for chain in scan.chains[:MAX_CHAINS]
    ]
    return RevocationObservation(
        target=target,
        endpoint=observed.endpoint,
        leaves=tuple(leaf for leaf in leaves if leaf is not None),
        offline=ctx.settings.offline,
        stapling_known=scan.ocsp_stapling is not None,
    )


async def _leaf_revocation(
    ctx: ProbeContext, chain: Chain, store: TrustStore, now: datetime.datetime, address: str
) -> LeafRevocation | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from ..tls import revocation as rv

    try:
        served = [x509.load_der_x509_certificate(der) for der in chain.certificates]
    except ValueError:
        return None  # the tls family reports an unreadable chain
    if not served:
        return None
    leaf = served[0]
    base = {
        "subject": leaf.subject.rfc4514_string(),
        "serial": format(leaf.serial_number, "x"),
        "sha256": leaf.fingerprint(hashes.SHA256()).hex(),
    }
    where = rv.sources(leaf)
    facts = {
        **base,
        "ocsp_urls": where.ocsp_urls,
        "crl_urls": where.crl_urls,
        "unsupported": where.unsupported,
        "must_staple": where.must_staple,
        "stapled": bool(chain.ocsp_response),
    }
    issuer = rv.find_issuer(leaf, served[1:], store)
    if issuer is None:
        why = (
            "the certificate is self-signed: no CA can revoke it"
            if leaf.issuer == leaf.subject
            else "its issuer is neither sent nor a trusted root, so no answer could be verified"
        )
        return LeafRevocation(**facts, skipped=why)  # type: ignore[arg-type]
    answers: list[Answer] = []
    if chain.ocsp_response:
        answers.append(
            rv.judge_ocsp(chain.ocsp_response, leaf=leaf, issuer=issuer, now=now, source=rv.STAPLED)
        )
    if (answers and answers[-1].decisive) or ctx.settings.offline:
        return LeafRevocation(**facts, answers=tuple(answers))  # type: ignore[arg-type]

    async def ask_all() -> None:
        for url in where.ocsp_urls:
            answers.append(await _ask_ocsp(ctx, url, leaf, issuer, now, address))
            if answers[-1].decisive:
                return
        for url in where.crl_urls:
            answers.append(await _ask_crl(ctx, url, leaf, issuer, now, address))
            if answers[-1].decisive:
                return

    # Each request has the client's bounds; the lookups of one certificate together get this.
    budget = LOOKUP_BUDGET_TIMEOUTS * ctx.http.settings.timeout
    try:
        await asyncio.wait_for(ask_all(), budget)
    except asyncio.TimeoutError:
        answers.append(
            rv.Answer(
                source="revocation lookups",
                status=rv.Status.UNAVAILABLE,
                reason=f"they took longer than {budget:g}s together",
            )
        )
    return LeafRevocation(**facts, answers=tuple(answers))  # type: ignore[arg-type]


def _address_refused(addresses: Sequence[str], target_address: str) -> str:
    """Why a revocation URL's addresses may not be fetched for this target ("" if they may)."""
    try:
        target = ipaddress.ip_address(target_address)
    except ValueError:
        target = None
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return f"it resolves to something that is not an address ({text[:60]})"
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            return f"it resolves to {address}, a link-local or reserved address"
        if address.is_loopback and not (target is not None and target.is_loopback):
            return f"it resolves to the loopback address {address}, and the target is not local"
        if (
            not address.is_global
            and not address.is_loopback
            and not (target is not None and not target.is_global)
        ):
            return f"it resolves to the private address {address}, and the target is public"
    return ""


async def _fetch(
    ctx: ProbeContext,
    url: str,
    *,
    probe: str,
    address: str,
    cap: int,
    method: str = "GET",
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[bytes | None, str]:
    """(body, "") or (None, why not) for one bounded, anonymous revocation request."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = await ctx.http.resolver.resolve(host)
    except ResolutionError as exc:
        return None, str(exc)
    refused = _address_refused(addresses, address)
    if refused:
        return None, f"not fetched: {refused}"
    # No credentials_origin: the user's headers are never attached to these requests.
    fetched = await ctx.http.fetch(
        url, probe=probe, method=method, content=content, headers=headers, body_cap=cap
    )
    if isinstance(fetched, FetchFailure):
        return None, fetched.reason
    if fetched.status != 200:
        return None, f"HTTP {fetched.status}"
    if fetched.body_truncated:
        return None, f"the answer is larger than {cap // 1024} KiB"
    return fetched.body, ""


async def _ask_ocsp(
    ctx: ProbeContext,
    url: str,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime.datetime,
    address: str,
) -> Answer:
    from ..tls import revocation as rv

    nonce = os.urandom(16)
    body, why = await _fetch(
        ctx,
        url,
        probe="ocsp",
        address=address,
        cap=OCSP_CAP,
        method="POST",
        content=rv.ocsp_request(leaf, issuer, nonce),
        headers={
            "Content-Type": "application/ocsp-request",
            "Accept": "application/ocsp-response",
        },
    )
    if body is None:
        return rv.Answer(source=rv.RESPONDER, url=url, status=rv.Status.UNAVAILABLE, reason=why)
    return rv.judge_ocsp(body, leaf=leaf, issuer=issuer, now=now, url=url, nonce=nonce)


async def _ask_crl(
    ctx: ProbeContext,
    url: str,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime.datetime,
    address: str,
) -> Answer:
    from ..tls import revocation as rv

    body, why = await _fetch(ctx, url, probe="crl", address=address, cap=CRL_CAP)
    if body is None:
        return rv.Answer(source=rv.CRL, url=url, status=rv.Status.UNAVAILABLE, reason=why)
    return rv.judge_crl(body, leaf=leaf, issuer=issuer, now=now, url=url)
