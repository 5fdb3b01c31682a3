"""The depth probes' TLS 1.3 session rides on a connection the enumeration opens anyway
(:mod:`keywire.tls.ride13`); when none fits, the probes complete a handshake of their own."""

from __future__ import annotations

import pytest

from keywire.tls import ride13, session13
from labs.tlslab import profile
from labs.tlsserver import SslLabServer, server_context

from .conftest import completed, scan_tls


def _spy(monkeypatch) -> dict[str, int]:
    """Count the rides that completed a session and the sessions the probes made themselves."""
    calls = {"rode": 0, "own": 0}
    carried, own = ride13.continue_handshake, session13.full_handshake

    async def counting_ride(*args, **kwargs):
        full = await carried(*args, **kwargs)
        calls["rode"] += 1
        return full

    async def counting_own(*args, **kwargs):
        calls["own"] += 1
        return await own(*args, **kwargs)

    monkeypatch.setattr(ride13, "continue_handshake", counting_ride)
    monkeypatch.setattr(session13, "full_handshake", counting_own)
    return calls


# huge-chain: a first flight of about 200 KiB, so the enumeration's read stops inside a record
# and the ride must start from those bytes (they were once dropped: the ride broke off).
@pytest.mark.parametrize("name", ["modern", "huge-chain"])
def test_the_tls13_session_rides_on_an_enumeration_connection(
    tls_lab, tls_pki, monkeypatch, name
) -> None:
    calls = _spy(monkeypatch)
    server = tls_lab.start(profile(name))
    result = scan_tls(f"https://localhost:{server.port}/", ca_file=tls_pki.ca_file)
    assert completed(result), result.outcomes
    assert calls == {"rode": 1, "own": 0}
    tls = result.details["tls"]
    assert tls["resumption"]["tls13_tickets_issued"] == 2
    assert tls["probes"]["TLS 1.3 early data"]["completed"] is True


def test_a_server_that_wants_another_group_gets_a_session_of_its_own(tls_pki, monkeypatch) -> None:
    """secp384r1 only: every enumeration hello (one X25519 share) gets a HelloRetryRequest."""
    calls = _spy(monkeypatch)
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, min_version="TLSv1.3", ecdh_curve="secp384r1")
    with SslLabServer(context) as server:
        result = scan_tls(f"https://localhost:{server.port}/", ca_file=tls_pki.ca_file)
    assert completed(result), result.outcomes
    assert calls == {"rode": 0, "own": 1}
    tls = result.details["tls"]
    assert tls["resumption"]["tls13_tickets_issued"] == 2
    assert tls["resumption"]["tls13_ticket"] is True
    assert tls["probes"]["TLS 1.3 early data"]["completed"] is True
