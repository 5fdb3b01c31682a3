"""ROBOT: does the server's RSA key exchange act as a Bleichenbacher padding oracle?

The test of robot-detect and sslyze, without the attack: for each of five ClientKeyExchange
messages (one correctly padded pre-master secret, four padded wrongly in different ways, all
encrypted to the server's certificate key) keywire completes the client's side of an RSA
handshake with a ChangeCipherSpec and a Finished it cannot know, and notes how the server ends
the connection (which alert, a close, a reset or silence). A server that answers them all alike
gives an attacker nothing; one that answers differently is an oracle. No decryption is ever
attempted: there is no adaptive query, only these five fixed messages, repeated to be sure.

Weak and strong oracles follow robot-detect (and sslyze): when the three messages that break
the PKCS #1 structure itself get the same answer, only a correctly formatted message with a
misplaced separator is told apart, and the attack needs far more queries (weak oracle).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ._constants import CHANGE_CIPHER_SPEC, HANDSHAKE, HS_CLIENT_KEY_EXCHANGE, alert_label
from ._wire import DecodeError, u8, u16, u24
from .connection import ConnectFailed, Dialer, Endpoint
from .results import VulnerabilityResult
from .tls12 import Link, Refused
from .vulns import legacy_spec, read_flight

ROBOT = "ROBOT"
PAYLOADS = (
    "valid",
    "wrong_first_two_bytes",
    "wrong_position_00",
    "no_00_in_the_middle",
    "wrong_version_number",
)
ROUNDS = 3
#: A fixed 46-byte pre-master secret body without zero bytes (a zero would move the separator);
#: with the two version bytes, the 48 bytes of RFC 5246 §7.4.7.1.
_PMS = bytes.fromhex("aa" + "112233445566778899" * 5)


def padded_message(kind: str, modulus_bytes: int, version: int) -> bytes:
    """The PKCS #1 v1.5 block for payload ``kind`` (before encryption), ``modulus_bytes`` long."""
    pad = (b"\xab\xcd" * modulus_bytes)[: modulus_bytes - 51]
    v = u16(version)
    blocks = {
        "valid": b"\x00\x02" + pad + b"\x00" + v + _PMS,
        "wrong_first_two_bytes": b"\x41\x17" + pad + b"\x00" + v + _PMS,
        "wrong_position_00": b"\x00\x02" + pad + b"\x11" + _PMS + b"\x00\x11",
        "no_00_in_the_middle": b"\x00\x02" + pad + b"\x11\x11\x11" + _PMS,
        "wrong_version_number": b"\x00\x02" + pad + b"\x00\x02\x02" + _PMS,
    }
    block = blocks[kind]
    assert len(block) == modulus_bytes
    return block


def _record(content_type: int, version: int, payload: bytes) -> bytes:
    return u8(content_type) + u16(version) + u16(len(payload)) + payload


def _rsa_key(certificate: bytes) -> tuple[int, int]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = x509.load_der_x509_certificate(certificate).public_key()
    except ValueError as exc:
        raise DecodeError(f"the certificate cannot be read: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise DecodeError("the certificate of an RSA key exchange has no RSA key")
    numbers = key.public_numbers()
    return numbers.n, numbers.e


class _NotTestable(Exception):
    def __init__(self, reason: str, *, limited: bool = False) -> None:
        super().__init__(reason)
        self.limited = limited


async def _one(
    dialer: Dialer,
    endpoint: Endpoint,
    version: int,
    suites: Sequence[int],
    kind: str,
    quiet: float,
) -> str:
    """How the server ends a handshake carrying payload ``kind``: e.g. "alert bad_record_mac"."""
    try:
        async with dialer.channel(endpoint) as channel:
            link = Link(channel)
            flight = await read_flight(link, legacy_spec(version, suites, endpoint.server_name))
            if flight.client_auth:
                raise _NotTestable(
                    "not tested: the server asks for a client certificate, which keywire has not",
                    limited=True,
                )
            if not flight.certificates:
                raise _NotTestable("the server sent no certificate")
            n, e = _rsa_key(flight.certificates[0])
            size = (n.bit_length() + 7) // 8
            block = int.from_bytes(padded_message(kind, size, version), "big")
            sealed = pow(block, e, n).to_bytes(size, "big")
            body = u16(len(sealed)) + sealed
            exchange = u8(HS_CLIENT_KEY_EXCHANGE) + u24(len(body)) + body
            # A Finished under keys keywire does not have: any 40 bytes are as wrong as others.
            # One write: a server that answers the key exchange and closes must not turn the
            # rest into a broken pipe before its answer is read.
            channel.send(
                _record(HANDSHAKE, version, exchange)
                + _record(CHANGE_CIPHER_SPEC, version, b"\x01")
                + _record(HANDSHAKE, version, bytes(range(0x10, 0x38)))
            )
            try:
                event = await asyncio.wait_for(link.event(), quiet)
            except asyncio.TimeoutError:
                return "no answer"
            except Refused:
                return "connection closed"
            except ConnectionResetError:
                return "connection reset"
            if event.kind == "alert":
                return f"alert {alert_label(event.alert)}"
            return f"{event.kind} record"
    except Refused as exc:
        raise _NotTestable(f"the server refused keywire's hello ({exc.reason})") from None
    except DecodeError as exc:
        raise _NotTestable(f"malformed answer: {exc}") from None
    except asyncio.TimeoutError:
        raise _NotTestable(f"no complete answer within {dialer.timeout:g}s") from None
    except ConnectFailed as exc:
        raise _NotTestable(str(exc)) from None
    except OSError as exc:
        raise _NotTestable(f"the connection failed ({exc.strerror or exc})") from None


def classify(rounds: Sequence[dict[str, str]]) -> tuple[bool | None, str, str]:
    """(vulnerable, oracle, detail) from the answers of each round (payload -> answer)."""
    for kind in PAYLOADS:
        if len({answers[kind] for answers in rounds}) != 1:
            return None, "", f"the answers to the same message changed between attempts ({kind})"
    first = rounds[0]
    if len(set(first.values())) == 1:
        return False, "", f"every message got the same answer ({first['valid']})"
    broken = {
        first["wrong_first_two_bytes"],
        first["wrong_position_00"],
        first["no_00_in_the_middle"],
    }
    oracle = "weak" if len(broken) == 1 else "strong"
    return True, oracle, "the server answers wrongly padded RSA key exchanges differently"


async def robot(
    dialer: Dialer,
    endpoint: Endpoint,
    version: int,
    suites: Sequence[int],
    *,
    quiet: float,
) -> VulnerabilityResult:
    """Run the ROBOT test with ``suites`` (the server's RSA key-exchange suites at ``version``)."""
    rounds: list[dict[str, str]] = []
    try:
        for _ in range(ROUNDS):
            answers = await asyncio.gather(
                *(_one(dialer, endpoint, version, suites, kind, quiet) for kind in PAYLOADS)
            )
            rounds.append(dict(zip(PAYLOADS, answers, strict=True)))
            if len(set(rounds[0].values())) == 1:
                break  # one identical round: no oracle, nothing to confirm
    except _NotTestable as exc:
        return VulnerabilityResult(
            name=ROBOT, vulnerable=None, detail=str(exc), limited=exc.limited
        )
    vulnerable, oracle, detail = classify(rounds)
    responses = tuple(f"{kind}: {rounds[0][kind]}" for kind in PAYLOADS)
    return VulnerabilityResult(
        name=ROBOT, vulnerable=vulnerable, oracle=oracle, detail=detail, responses=responses
    )
