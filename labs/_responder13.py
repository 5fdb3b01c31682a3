"""The scripted responder's TLS 1.3 handshake, finished like a server (no tickets, no 0-RTT).

The key schedule is keywire's own (:mod:`keywire.tls.session13`), which the client tests check
against OpenSSL. The CertificateVerify signature is random: keywire never verifies it, and no
other client is pointed at the responder's TLS 1.3.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Any

from keywire.tls._schedule13 import _Cipher, _derive, _early_secret, _finished, _next_secret

_COMPUTABLE = (29, 23, 30, 24, 25)


def key_pair(group: int) -> tuple[Any, bytes] | None:
    """(private key, public share) for ``group``, or None when it is not one keywire computes."""
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key: Any
    if group == 29:
        key = x25519.X25519PrivateKey.generate()
        return key, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if group == 30:
        key = x448.X448PrivateKey.generate()
        return key, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    curves = {23: ec.SECP256R1(), 24: ec.SECP384R1(), 25: ec.SECP521R1()}
    if group in curves:
        key = ec.generate_private_key(curves[group])
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return key, public
    return None


def shared_secret(key: Any, peer: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

    if isinstance(key, x25519.X25519PrivateKey):
        return key.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    if isinstance(key, x448.X448PrivateKey):
        return key.exchange(x448.X448PublicKey.from_public_bytes(peer))
    point = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, peer)
    secret: bytes = key.exchange(ec.ECDH(), point)
    return secret


def _vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + _vec(body, 3)


def server_hello(session_id: bytes, suite: int, group: int, share: bytes, random: bytes) -> bytes:
    extensions = struct.pack(">HH", 43, 2) + b"\x03\x04"
    extensions += struct.pack(">H", 51) + _vec(struct.pack(">H", group) + _vec(share, 2), 2)
    body = (
        b"\x03\x03" + random + _vec(session_id, 1) + struct.pack(">HB", suite, 0)
        + _vec(extensions, 2)
    )  # fmt: skip
    return _handshake(2, body)


def finish(
    conn: socket.socket,
    transcript: bytes,
    suite: int,
    key: Any,
    peer_share: bytes,
    certificate: bytes,
) -> None:
    """After the ServerHello (already in ``transcript`` and sent): the encrypted flight, the
    client's Finished, then wait for the client to leave."""
    handshake_secret = _next_secret(
        suite, _early_secret(suite, None), shared_secret(key, peer_share)
    )
    server_hs = _derive(suite, handshake_secret, b"s hs traffic", transcript)
    client_hs = _derive(suite, handshake_secret, b"c hs traffic", transcript)
    write = _Cipher(suite, server_hs)
    flight = [_handshake(8, _vec(b"", 2))]
    if certificate:
        flight.append(_handshake(11, b"\x00" + _vec(_vec(certificate, 3) + _vec(b"", 2), 3)))
        flight.append(_handshake(15, b"\x08\x04" + _vec(os.urandom(256), 2)))
    out = b""
    for message in flight:
        transcript += message
        out += write.seal(22, message)
    verify = _finished(suite, server_hs, transcript)
    finished = _handshake(20, verify)
    transcript += finished
    out += write.seal(22, finished)
    conn.sendall(out)
    read = _Cipher(suite, client_hs)
    buffer = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= 5 and len(buffer) >= 5 + int.from_bytes(buffer[3:5], "big"):
            length = int.from_bytes(buffer[3:5], "big")
            header, body = buffer[:5], buffer[5 : 5 + length]
            buffer = buffer[5 + length :]
            if header[0] == 20:
                continue
            if header[0] != 23:
                return
            from keywire.tls.records import Record

            content, _ = read.open(Record(header[0], int.from_bytes(header[1:3], "big"), body))
            if content == 21:
                return
            if content == 22:
                # The client's Finished: switch to its application traffic and wait.
                master = _next_secret(suite, handshake_secret, None)
                read = _Cipher(suite, _derive(suite, master, b"c ap traffic", transcript))
