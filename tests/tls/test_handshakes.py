"""keywire's completed handshakes against real servers: TLS 1.0-1.2 (every key exchange and
record protection it implements) and TLS 1.3 (tickets, resumption, 0-RTT announced)."""

from __future__ import annotations

import asyncio
import os

import pytest

from keywire.tls import session12, session13, tls12
from keywire.tls._constants import Version
from keywire.tls.connection import Dialer, Endpoint
from labs.opensslserver import OpensslServer
from labs.tlslab import ALLOW_CLIENT_RENEGOTIATION, dh_params
from labs.tlsserver import SslLabServer, server_context

from .conftest import require_tool


def _endpoint(port: int) -> Endpoint:
    return Endpoint(host="localhost", address="127.0.0.1", port=port, server_name="localhost")


async def _handshake(port: int, version: int, suites: tuple[int, ...]) -> tls12.Established:
    dialer = Dialer(timeout=5)
    async with dialer.channel(_endpoint(port)) as channel:
        link = tls12.Link(channel)
        return await tls12.handshake(link, tls12.full_hello_spec(version, suites, "localhost"))


@pytest.mark.parametrize(
    ("ciphers", "version", "max_version", "suite"),
    [
        ("ECDHE-RSA-AES128-GCM-SHA256", Version.TLS12, "TLSv1.2", 0xC02F),
        ("ECDHE-RSA-AES256-GCM-SHA384", Version.TLS12, "TLSv1.2", 0xC030),
        ("ECDHE-RSA-CHACHA20-POLY1305", Version.TLS12, "TLSv1.2", 0xCCA8),
        ("DHE-RSA-AES128-GCM-SHA256", Version.TLS12, "TLSv1.2", 0x009E),
        ("AES128-SHA", Version.TLS12, "TLSv1.2", 0x002F),
        ("AES256-SHA256", Version.TLS12, "TLSv1.2", 0x003D),
        ("ECDHE-RSA-AES128-SHA256", Version.TLS12, "TLSv1.2", 0xC027),
        ("AES128-CCM", Version.TLS12, "TLSv1.2", 0xC09C),
        ("ECDHE-RSA-AES256-SHA:@SECLEVEL=0", Version.TLS11, "TLSv1.1", 0xC014),
        ("ECDHE-RSA-AES256-SHA:@SECLEVEL=0", Version.TLS10, "TLSv1", 0xC014),
        ("CAMELLIA128-SHA:@SECLEVEL=0", Version.TLS10, "TLSv1", 0x0041),
    ],
)
def test_tls12_handshake_completes(tls_pki, ciphers, version, max_version, suite) -> None:
    cert, key = tls_pki.files("rsa-2048")
    context = server_context(
        cert,
        key,
        ciphers=ciphers,
        min_version=max_version,
        max_version=max_version,
        dh_params=dh_params(tls_pki.directory, "2048") if "DHE" in ciphers else None,
    )
    with SslLabServer(context) as server:
        established = asyncio.run(_handshake(server.port, version, tls12.client_suites([suite])))
    assert (established.version, established.suite) == (version, suite)
    assert established.ticket  # Python ssl issues RFC 5077 tickets
    assert established.ticket_lifetime == 7200


@pytest.mark.parametrize(("options", "honoured"), [(0, 0), (ALLOW_CLIENT_RENEGOTIATION, 5)])
def test_renegotiations_in_a_row(tls_pki, options, honoured) -> None:
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, max_version="TLSv1.2", extra_options=options)

    async def run(port: int) -> session12.RenegotiationRun:
        dialer = Dialer(timeout=5)
        spec = tls12.full_hello_spec(Version.TLS12, (0xC02B, 0xC02C), "localhost")
        async with dialer.channel(_endpoint(port)) as channel:
            link = tls12.Link(channel)
            first = await tls12.handshake(link, spec)
            return await session12.renegotiate(link, first, spec, 5, wait=2)

    with SslLabServer(context) as server:
        result = asyncio.run(run(server.port))
    assert result.honoured == honoured
    assert (result.refusal == "") == (honoured == 5)
    if honoured:
        # Each renegotiation is a new, complete handshake bound to the previous one.
        assert len({s.client_verify for s in result.sessions}) == 5


def test_a_ticket_resumes_and_a_made_up_one_does_not(tls_pki) -> None:
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, max_version="TLSv1.2")

    async def run(port: int) -> tuple[bool, bool]:
        dialer = Dialer(timeout=5)
        established = await _handshake(port, Version.TLS12, (0xC02B,))
        answers = []
        for ticket in (established.ticket, os.urandom(len(established.ticket))):
            spec = tls12.full_hello_spec(
                Version.TLS12,
                (0xC02B,),
                "localhost",
                session_ticket=ticket,
                session_id=os.urandom(32),
            )
            async with dialer.channel(_endpoint(port)) as channel:
                answers.append((await session12.offer_session(channel, spec)).resumed)
        return answers[0], answers[1]

    with SslLabServer(context) as server:
        assert asyncio.run(run(server.port)) == (True, False)


def test_tls13_tickets_and_resumption(tls_pki) -> None:
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, min_version="TLSv1.3")

    async def run(port: int) -> tuple[session13.FullHandshake, session13.ResumeAnswer]:
        dialer = Dialer(timeout=5)
        async with dialer.channel(_endpoint(port)) as channel:
            full = await session13.full_handshake(channel, "localhost")
        async with dialer.channel(_endpoint(port)) as channel:
            answer = await session13.offer_ticket(
                channel, "localhost", full.tickets[0], early_data=False
            )
        return full, answer

    with SslLabServer(context) as server:
        full, answer = asyncio.run(run(server.port))
    assert len(full.tickets) == 2
    assert full.tickets[0].lifetime == 7200
    assert full.tickets[0].max_early_data is None
    assert full.certificates
    assert answer == session13.ResumeAnswer(resumed=True, early_data_accepted=False)


def test_tls13_full_handshake_after_a_retry_request(tls_pki) -> None:
    """The server wants secp384r1, which keywire's first hello has no share for."""
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, min_version="TLSv1.3", ecdh_curve="secp384r1")

    async def run(port: int) -> session13.FullHandshake:
        async with Dialer(timeout=5).channel(_endpoint(port)) as channel:
            return await session13.full_handshake(channel, "localhost")

    with SslLabServer(context) as server:
        full = asyncio.run(run(server.port))
    assert full.group == 24
    assert full.tickets


@pytest.mark.parametrize(
    ("options", "first", "again"),
    [
        (("-early_data",), (True, True), (False, False)),
        (("-early_data", "-no_anti_replay"), (True, True), (True, True)),
    ],
)
def test_early_data_accepted_once_or_again(tls_pki, options, first, again) -> None:
    require_tool("openssl")
    cert, key = tls_pki.files("good")

    async def run(port: int) -> list[tuple[bool, bool]]:
        dialer = Dialer(timeout=5)
        async with dialer.channel(_endpoint(port)) as channel:
            full = await session13.full_handshake(channel, "localhost")
        ticket = full.tickets[0]
        assert ticket.max_early_data == 16384
        answers = []
        for _ in range(2):
            async with dialer.channel(_endpoint(port)) as channel:
                answer = await session13.offer_ticket(channel, "localhost", ticket, early_data=True)
            answers.append((answer.resumed, answer.early_data_accepted))
        return answers

    with OpensslServer(cert, key, options) as server:
        assert asyncio.run(run(server.port)) == [first, again]
