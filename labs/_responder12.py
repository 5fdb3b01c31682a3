"""The scripted responder's side of a TLS 1.0-1.2 handshake after its first flight.

:class:`~labs.tlsresponder.TlsResponder` sends ServerHello..ServerHelloDone itself; this
module carries the connection on like a real server: it reads the client's key exchange,
ChangeCipherSpec and Finished, answers with its own, then serves renegotiations (refused with
a warning no_renegotiation, or honoured) until the client leaves. Record protection and the PRF
are keywire's own (:mod:`keywire.tls._record12`), which the client tests check against OpenSSL.

It also plays the misbehaviours the vulnerability probes look for, each switched on by the
profile and otherwise answered as a current OpenSSL would:

- ``heartbleed="vulnerable"``: heartbeat requests are answered with as many bytes as they
  claim (past the record: zeros; this lab server has no memory worth leaking);
  ``"patched"``: only well-formed requests are answered, others silently dropped (RFC 6520);
  otherwise heartbeats get a fatal unexpected_message alert;
- ``ccs_injection``: a ChangeCipherSpec before the key exchange is accepted, and the next
  record fails with bad_record_mac, or decryption_failed when it is shorter than a CBC block
  (keys from an empty master secret), instead of unexpected_message;
- ``robot="strong"|"weak"``: a wrongly padded RSA pre-master secret is answered at once with
  an alert that depends on how it is wrong (strong) or with one alert for all (weak), instead
  of going on with a random secret (RFC 5246 §7.4.7.1).
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keywire.tls._record12 import Protection, SuiteParams, handshake_hash, key_block, prf, supported

HANDSHAKE, CCS, ALERT, APPDATA, HEARTBEAT = 22, 20, 21, 23, 24
_PAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


@dataclass
class ServerSession:
    """What the responder's flight established, and what the rest of the handshake needs."""

    version: int
    suite: int
    client_version: int
    client_random: bytes
    server_random: bytes
    transcript: list[bytes]
    ecdhe: Any = None  # a private key with .exchange(), for ECDHE
    curve: int = 0
    dh: tuple[int, int] | None = None  # (prime, private exponent)
    rsa_key: Any = None
    secure_renegotiation: bool = False
    client_verify: bytes = b""
    server_verify: bytes = b""
    read: Protection = field(default_factory=Protection)
    write: Protection = field(default_factory=Protection)
    params: SuiteParams | None = None
    master: bytes = b""
    pending_write: Protection | None = None
    ticket_lifetime: int | None = None


class Closed(Exception):
    """The client went away (or sent what ends the connection)."""


def _record(content_type: int, version: int, payload: bytes) -> bytes:
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


class Session:
    """The rest of one connection, after the responder's first flight."""

    def __init__(
        self,
        conn: socket.socket,
        state: ServerSession,
        profile: Any,
        flight: Callable[[bytes, ServerSession], tuple[bytes, ServerSession] | None],
    ) -> None:
        self.conn = conn
        self.state = state
        self.profile = profile
        self.flight = flight  # builds (and sends) a new flight for a renegotiating ClientHello
        self.buffer = b""
        self.pending_read: Protection | None = None
        self.key_exchanged = False
        self.early_ccs = False
        self.handshake_buffer = b""

    # -- records ---------------------------------------------------------------------------

    def _recv_record(self) -> tuple[int, bytes, bytes]:
        while len(self.buffer) < 5 or len(self.buffer) < 5 + int.from_bytes(
            self.buffer[3:5], "big"
        ):
            chunk = self.conn.recv(65536)
            if not chunk:
                raise Closed
            self.buffer += chunk
        length = int.from_bytes(self.buffer[3:5], "big")
        header, body = self.buffer[:5], self.buffer[5 : 5 + length]
        self.buffer = self.buffer[5 + length :]
        return header[0], header, body

    def send(self, content_type: int, payload: bytes) -> None:
        if self.state.write.active:
            self.conn.sendall(self.state.write.seal(content_type, payload))
        else:
            self.conn.sendall(_record(content_type, self.state.version, payload))

    def alert(self, description: int, *, fatal: bool = True) -> None:
        self.send(ALERT, bytes([2 if fatal else 1, description]))
        if fatal:
            self._linger()
            raise Closed

    def _linger(self) -> None:
        """Close like a careful server: stop writing, then read what the client still sends,
        so that closing with unread data does not reset the connection over the alert."""
        try:
            self.conn.shutdown(socket.SHUT_WR)
            self.conn.settimeout(1)
            while self.conn.recv(65536):
                pass
        except OSError:
            pass

    # -- the conversation ------------------------------------------------------------------

    def run(self) -> None:
        try:
            while True:
                content_type, header, body = self._recv_record()
                self._dispatch(content_type, header, body)
        except (Closed, OSError, ValueError):
            return

    def _dispatch(self, content_type: int, header: bytes, body: bytes) -> None:
        if self.early_ccs:
            # The "keys" from an empty master secret decrypt nothing. OpenSSL 1.0.1 says
            # decryption_failed for a record shorter than a CBC block, bad_record_mac otherwise.
            params = supported().get(self.state.suite)
            block = params.block if params is not None and params.mode == "cbc" else 0
            self.alert(21 if len(body) < block else 20)
        if content_type == HEARTBEAT and not self.state.read.active:
            self._heartbeat(body)
            return
        try:
            plain = self.state.read.open(content_type, body)
        except ValueError:
            self.alert(20)
            return
        if content_type == CCS:
            if not self.key_exchanged:
                if self.profile.ccs_injection:
                    self.early_ccs = True
                    return
                self.alert(10)
            if self.pending_read is None:
                self.alert(10)
                return
            self.state.read, self.pending_read = self.pending_read, None
        elif content_type == ALERT:
            raise Closed
        elif content_type == HANDSHAKE:
            self.handshake_buffer += plain
            while len(self.handshake_buffer) >= 4:
                size = int.from_bytes(self.handshake_buffer[1:4], "big")
                if len(self.handshake_buffer) < 4 + size:
                    break
                message = self.handshake_buffer[: 4 + size]
                self.handshake_buffer = self.handshake_buffer[4 + size :]
                self._handshake(message)
        elif content_type == APPDATA and self.state.read.active:
            self.send(APPDATA, _PAGE)
            raise Closed
        elif content_type == HEARTBEAT:
            self._heartbeat(plain)
        else:
            self.alert(10)

    def _heartbeat(self, body: bytes) -> None:
        mode = self.profile.heartbleed
        if not mode or len(body) < 3 or body[0] != 1:
            self.alert(10)
            return
        declared = int.from_bytes(body[1:3], "big")
        if mode == "patched" and 3 + declared + 16 > len(body):
            return  # RFC 6520: silently discard
        echo = body[3 : 3 + declared].ljust(declared, b"\0")
        self.send(HEARTBEAT, b"\x02" + declared.to_bytes(2, "big") + echo + os.urandom(16))

    def _handshake(self, message: bytes) -> None:
        kind = message[0]
        state = self.state
        if kind == 1:  # a ClientHello inside a session: renegotiation
            if not self.profile.client_renegotiation:
                self.alert(100, fatal=False)
                return
            answer = self.flight(message, state)
            if answer is None:
                self.alert(40)
                return
            messages, renewed = answer
            self.send(HANDSHAKE, messages)  # under the current keys
            renewed.read, renewed.write = state.read, state.write
            self.state = renewed
            self.key_exchanged = False
            return
        if kind == 11:  # the client's (empty) Certificate
            state.transcript.append(message)
            return
        if kind == 16:
            state.transcript.append(message)
            self._key_exchange(message[4:])
            return
        if kind == 20:
            self._finished(message)
            return
        self.alert(10)

    def _key_exchange(self, body: bytes) -> None:
        state = self.state
        params = supported().get(state.suite)
        if params is None:
            self.alert(40)
            return
        if params.kex == "ECDHE":
            secret = self._ecdhe(body)
        elif params.kex == "DHE":
            if state.dh is None:
                self.alert(40)
                return
            prime, private = state.dh
            public = int.from_bytes(body[2 : 2 + int.from_bytes(body[:2], "big")], "big")
            if not 1 < public < prime - 1:
                self.alert(47)
            shared = pow(public, private, prime)
            secret = shared.to_bytes((prime.bit_length() + 7) // 8, "big").lstrip(b"\0")
        else:
            secret = self._rsa(body)
        self._keys(params, secret)
        self.key_exchanged = True

    def _ecdhe(self, body: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

        point = body[1 : 1 + body[0]]
        key = self.state.ecdhe
        if key is None:
            self.alert(40)
        try:
            if isinstance(key, x25519.X25519PrivateKey):
                shared: bytes = key.exchange(x25519.X25519PublicKey.from_public_bytes(point))
            elif isinstance(key, x448.X448PrivateKey):
                shared = key.exchange(x448.X448PublicKey.from_public_bytes(point))
            else:
                peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, point)
                shared = key.exchange(ec.ECDH(), peer)
        except ValueError:
            self.alert(47)
            raise
        return shared

    def _rsa(self, body: bytes) -> bytes:
        state = self.state
        key = state.rsa_key
        if key is None:
            self.alert(40)
        sealed = body[2:] if state.version > 0x0300 else body
        numbers = key.private_numbers()
        n = numbers.public_numbers.n
        size = (n.bit_length() + 7) // 8
        block = pow(int.from_bytes(sealed, "big"), numbers.d, n).to_bytes(size, "big")
        problem = _padding_problem(block, state.client_version)
        oracle = self.profile.robot
        if problem and oracle == "strong":
            self.alert(40 if problem == "prefix" else 51)
        if problem in ("prefix", "no-separator", "position") and oracle == "weak":
            self.alert(40)
        if problem:
            return state.client_version.to_bytes(2, "big") + os.urandom(46)
        secret: bytes = block[-48:]
        return secret

    def _keys(self, params: SuiteParams, secret: bytes) -> None:
        state = self.state
        version = state.version
        master = prf(
            version,
            params.prf_hash,
            secret,
            b"master secret",
            state.client_random + state.server_random,
            48,
        )
        state.master = master
        keys = key_block(params, version, master, state.client_random, state.server_random)
        self.pending_read = Protection(
            params,
            version,
            key=keys.client_key,
            iv=keys.client_iv,
            mac_key=keys.client_mac,
            encrypt=False,
        )
        state.pending_write = Protection(
            params, version, key=keys.server_key, iv=keys.server_iv, mac_key=keys.server_mac
        )
        state.params = params

    def _finished(self, message: bytes) -> None:
        state = self.state
        params, master = state.params, state.master
        if params is None or state.pending_write is None:
            self.alert(10)
            return
        expected = prf(
            state.version,
            params.prf_hash,
            master,
            b"client finished",
            handshake_hash(state.version, params.prf_hash, b"".join(state.transcript)),
            12,
        )
        if message[4:] != expected:
            self.alert(51)
        state.transcript.append(message)
        state.client_verify = expected
        if state.ticket_lifetime is not None:
            # RFC 5077: a NewSessionTicket before the server's ChangeCipherSpec. This server
            # never resumes; the ticket only carries the lifetime hint.
            ticket = state.ticket_lifetime.to_bytes(4, "big") + _vec16(os.urandom(64))
            message = b"\x04" + len(ticket).to_bytes(3, "big") + ticket
            state.transcript.append(message)
            self.send(HANDSHAKE, message)
        server_verify = prf(
            state.version,
            params.prf_hash,
            master,
            b"server finished",
            handshake_hash(state.version, params.prf_hash, b"".join(state.transcript)),
            12,
        )
        state.server_verify = server_verify
        self.send(CCS, b"\x01")
        state.write = state.pending_write
        self.send(HANDSHAKE, b"\x14" + (12).to_bytes(3, "big") + server_verify)


def _padding_problem(block: bytes, client_version: int) -> str:
    """What is wrong with a decrypted PKCS #1 v1.5 pre-master secret block ("" if nothing)."""
    if block[:2] != b"\x00\x02":
        return "prefix"
    separator = block.find(b"\x00", 2)
    if separator < 0:
        return "no-separator"
    if separator < 10 or len(block) - separator - 1 != 48:
        return "position"
    if block[separator + 1 : separator + 3] != client_version.to_bytes(2, "big"):
        return "version"
    return ""


def sign_params(key: Any, version: int, data: bytes) -> bytes:
    """The ServerKeyExchange signature (with its algorithm for TLS 1.2) over ``data``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    if isinstance(key, rsa.RSAPrivateKey):
        if version >= 0x0303:
            return b"\x04\x01" + _vec16(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
        digest = hashlib.md5(data).digest() + hashlib.sha1(data).digest()  # noqa: S324
        numbers = key.private_numbers()
        n = numbers.public_numbers.n
        size = (n.bit_length() + 7) // 8
        block = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
        signature = pow(int.from_bytes(block, "big"), numbers.d, n).to_bytes(size, "big")
        return _vec16(signature)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if version >= 0x0303:
            return b"\x04\x03" + _vec16(key.sign(data, ec.ECDSA(hashes.SHA256())))
        digest = hashlib.sha1(data).digest()  # noqa: S324 - TLS 1.0/1.1 ECDSA signs SHA-1
        prehashed = utils.Prehashed(hashes.SHA1())  # noqa: S303 - what TLS 1.0/1.1 signs
        return _vec16(key.sign(digest, ec.ECDSA(prehashed)))
    raise ValueError("unsupported key")


def _vec16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data
