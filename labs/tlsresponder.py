"""A scripted TLS responder: answers ClientHellos with exactly the bytes a profile asks for.

Nothing on these machines serves SSL 2.0, EXPORT suites, TLS compression, tiny DH groups or
insecure renegotiation, and nothing misbehaves on purpose. This responder does: it reads a
ClientHello (parsed here with its own few lines, independent of :mod:`keywire.tls`), negotiates
like a TLS <= 1.2 server of the profile (version, suite in server order, fallback SCSV) and sends
ServerHello, Certificate, ServerKeyExchange and ServerHelloDone, or, in a ``hostile`` mode,
something malformed, endless or slow.

Then it finishes the handshake like a server (:mod:`._responder12`, :mod:`._responder13`) when
keywire can compute the key exchange: real ephemeral keys, real signatures when the profile
has the certificate's ``key`` (random ones otherwise), and the misbehaviours of old servers on
request: client-initiated renegotiation honoured, Heartbleed, CCS injection, a ROBOT oracle,
and DH groups with a chosen prime and generator (composite, small subgroup).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keywire.tls._record12 import supported
from keywire.tls._suite_table import TLS_SUITES

from ._dhgroups import safe_prime
from ._loopback import LoopbackServer
from ._responder12 import ServerSession, Session, sign_params
from ._responder13 import finish, key_pair

_NAMES = dict(TLS_SUITES)
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
HOSTILE_MODES = (
    "garbage",
    "http",
    "drip",
    "huge-record",
    "huge-message",
    "endless",
    "close",
    "wrong-suite",
    "bad-hello",
    "bad-alert",
)


@dataclass(frozen=True, kw_only=True)
class ResponderProfile:
    """How the scripted server behaves. Versions are wire values (0x0300 = SSL 3.0)."""

    versions: tuple[int, ...] = (0x0301,)
    suites: tuple[int, ...] = (0x002F,)
    ssl2_ciphers: tuple[int, ...] = ()
    certificate: bytes = b""
    compression: bool = False
    renegotiation_info: bool = True
    honor_fallback_scsv: bool = True
    dh_bits: int = 2048
    curve: int = 23
    export_rsa_bits: int = 512
    tls13_suites: tuple[int, ...] = ()
    tls13_groups: tuple[int, ...] = ()
    hostile: str = ""
    #: PEM private key of ``certificate``: real signatures and RSA key exchange.
    key: bytes = b""
    #: Finish handshakes (otherwise: the first flight, then hang up).
    complete: bool = True
    client_renegotiation: bool = False
    heartbleed: str = ""  # "", "vulnerable" or "patched"
    ccs_injection: bool = False
    robot: str = ""  # "", "strong" or "weak"
    #: A DH group of the profile's choosing (0: a safe prime of ``dh_bits`` bits).
    dh_prime: int = 0
    dh_generator: int = 2
    #: Reuse one ephemeral (EC)DH key on every connection (old TLS terminators did).
    static_ephemeral: bool = False
    #: Issue TLS 1.2 session tickets with this lifetime hint (None: no tickets).
    ticket_lifetime: int | None = None


def _vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _record(content_type: int, version: int, payload: bytes) -> bytes:
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


def _handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + _vec(body, 3)


def _alert(version: int, description: int) -> bytes:
    return _record(21, version, bytes([2, description]))


@dataclass(frozen=True)
class _Hello:
    version: int
    suites: tuple[int, ...]
    compression: tuple[int, ...]
    extensions: tuple[int, ...]
    groups: tuple[int, ...]
    session_id: bytes = b""
    versions: tuple[int, ...] = ()
    shares: tuple[tuple[int, bytes], ...] = ()  # (group, key share)
    random: bytes = b""
    raw: bytes = b""


def _parse_client_hello(body: bytes) -> _Hello:
    """Just what negotiation needs; raises ValueError on anything short."""
    if len(body) < 4 or body[0] != 1:
        raise ValueError("not a ClientHello")
    pos = 4
    version = int.from_bytes(body[pos : pos + 2], "big")
    pos += 2 + 32
    session_id = bytes(body[pos + 1 : pos + 1 + body[pos]])
    pos += 1 + body[pos]
    n = int.from_bytes(body[pos : pos + 2], "big")
    suites = tuple(int.from_bytes(body[i : i + 2], "big") for i in range(pos + 2, pos + 2 + n, 2))
    pos += 2 + n
    compression = tuple(body[pos + 1 : pos + 1 + body[pos]])
    pos += 1 + body[pos]
    extensions: list[int] = []
    groups: tuple[int, ...] = ()
    versions: tuple[int, ...] = ()
    shares: list[tuple[int, bytes]] = []
    if pos + 2 <= len(body):
        end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            kind = int.from_bytes(body[pos : pos + 2], "big")
            size = int.from_bytes(body[pos + 2 : pos + 4], "big")
            data = body[pos + 4 : pos + 4 + size]
            extensions.append(kind)
            if kind == 10:
                groups = tuple(
                    int.from_bytes(data[i : i + 2], "big") for i in range(2, len(data) - 1, 2)
                )
            elif kind == 43:
                versions = tuple(
                    int.from_bytes(data[i : i + 2], "big") for i in range(1, len(data) - 1, 2)
                )
            elif kind == 51:
                at = 2
                while at + 4 <= len(data):
                    length = int.from_bytes(data[at + 2 : at + 4], "big")
                    share = bytes(data[at + 4 : at + 4 + length])
                    shares.append((int.from_bytes(data[at : at + 2], "big"), share))
                    at += 4 + length
            pos += 4 + size
    if pos > len(body):
        raise ValueError("truncated ClientHello")
    return _Hello(
        version,
        suites,
        compression,
        tuple(extensions),
        groups,
        session_id,
        versions,
        tuple(shares),
        random=bytes(body[6:38]),
        raw=bytes(body),
    )


def _big(bits: int) -> bytes:
    value = int.from_bytes(os.urandom((bits + 7) // 8), "big")
    value |= (1 << (bits - 1)) | 1
    value &= (1 << bits) - 1
    return value.to_bytes((bits + 7) // 8, "big")


class TlsResponder(LoopbackServer):
    """Serve ``profile`` on 127.0.0.1 (port chosen by the OS) until closed."""

    def __init__(self, profile: ResponderProfile, *, host: str = "127.0.0.1") -> None:
        self.profile = profile
        self._key: Any = None
        self._keys: dict[tuple[str, int], Any] = {}
        if profile.key:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            self._key = load_pem_private_key(profile.key, password=None)
        super().__init__(host=host)

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError, ValueError), conn:
            first = conn.recv(2)
            if len(first) < 2:
                return
            if first[0] & 0x80:
                self._ssl2(conn, first)
                return
            header = first + self._recv(conn, 3)
            body = self._recv(conn, int.from_bytes(header[3:5], "big"))
            if header[0] != 22:
                return
            self._tls(conn, _parse_client_hello(body))

    @staticmethod
    def _recv(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ValueError("closed")
            data += chunk
        return data

    def _ssl2(self, conn: socket.socket, first: bytes) -> None:
        length = ((first[0] & 0x7F) << 8) | first[1]
        self._recv(conn, length)
        ciphers = self.profile.ssl2_ciphers
        if not ciphers:
            return
        cert = self.profile.certificate
        specs = b"".join(c.to_bytes(3, "big") for c in ciphers)
        connection_id = os.urandom(16)
        msg = (
            bytes([4, 0, 1])
            + struct.pack(">HHHH", 0x0002, len(cert), len(specs), len(connection_id))
            + cert
            + specs
            + connection_id
        )
        conn.sendall(struct.pack(">H", 0x8000 | len(msg)) + msg)
        time.sleep(0.05)

    def _tls(self, conn: socket.socket, hello: _Hello) -> None:
        profile = self.profile
        if profile.hostile:
            self._hostile(conn, hello)
            return
        if profile.tls13_suites and 0x0304 in hello.versions:
            self._tls13(conn, hello)
            return
        chosen = self._negotiate(hello)
        if isinstance(chosen, bytes):
            conn.sendall(chosen)
            return
        version, suite = chosen
        messages, state = self._flight(hello, version, suite)
        conn.sendall(_record(22, version, messages))
        if profile.complete and state is not None:
            conn.settimeout(5)
            Session(conn, state, profile, self._renegotiation).run()
        else:
            time.sleep(0.05)

    def _static(self, kind: tuple[str, int], make: Callable[[], Any]) -> Any:
        """A fresh value from ``make``, or with ``static_ephemeral`` the first one again."""
        if not self.profile.static_ephemeral:
            return make()
        if kind not in self._keys:
            self._keys[kind] = make()
        return self._keys[kind]

    def _negotiate(self, hello: _Hello) -> tuple[int, int] | bytes:
        """(version, suite) for ``hello``, or the alert record that refuses it."""
        profile = self.profile
        versions = sorted(profile.versions) + ([0x0304] if profile.tls13_suites else [])
        if not versions:
            return _alert(min(hello.version, 0x0303), 40)
        record_version = min(hello.version, 0x0303, versions[-1])
        if hello.version < versions[0] or record_version not in versions:
            return _alert(min(hello.version, 0x0303), 70)
        version = record_version
        if 0x5600 in hello.suites and version < versions[-1] and profile.honor_fallback_scsv:
            return _alert(version, 86)
        # An ECDHE suite needs the profile's curve among the client's groups (RFC 8422 §5.1).
        curve_ok = profile.curve in hello.groups or 10 not in hello.extensions
        suite = next(
            (
                s
                for s in profile.suites
                if s in hello.suites and (curve_ok or "ECDH" not in _NAMES.get(s, ""))
            ),
            None,
        )
        if suite is None:
            return _alert(version, 40)
        return version, suite

    def _renegotiation(
        self, message: bytes, previous: ServerSession
    ) -> tuple[bytes, ServerSession] | None:
        """A new flight for a ClientHello received inside a session (when honoured)."""
        hello = _parse_client_hello(message)
        chosen = self._negotiate(hello)
        if isinstance(chosen, bytes) or chosen[0] != previous.version:
            return None
        messages, state = self._flight(hello, chosen[0], chosen[1], previous=previous)
        return (messages, state) if state is not None else None

    def _tls13(self, conn: socket.socket, hello: _Hello) -> None:
        """A TLS 1.3 ServerHello, or a HelloRetryRequest naming the group the profile prefers;
        then the rest of the handshake when keywire can compute the group."""
        from keywire.tls.tls13 import _SUITES

        suite = next((s for s in self.profile.tls13_suites if s in hello.suites), None)
        group = next((g for g in self.profile.tls13_groups if g in hello.groups), None)
        if suite is None or group is None:
            conn.sendall(_alert(0x0303, 40))
            time.sleep(0.05)
            return
        shares = dict(hello.shares)
        transcript = hello.raw
        if group not in shares:
            retry = _handshake(2, self._server_hello13(hello, suite, group, b"", HRR_RANDOM)[4:])
            conn.sendall(_record(22, 0x0303, retry))
            if not self.profile.complete or suite not in _SUITES or key_pair(group) is None:
                time.sleep(0.05)
                return
            conn.settimeout(5)
            header = self._recv(conn, 5)
            second = self._recv(conn, int.from_bytes(header[3:5], "big"))
            if header[0] == 20:  # a compatibility ChangeCipherSpec first
                header = self._recv(conn, 5)
                second = self._recv(conn, int.from_bytes(header[3:5], "big"))
            hello = _parse_client_hello(second)
            shares = dict(hello.shares)
            if group not in shares:
                return
            digest = hashlib.new(_SUITES[suite][0], transcript).digest()
            transcript = b"\xfe" + len(digest).to_bytes(3, "big") + digest + retry + hello.raw
        pair = key_pair(group) if self.profile.complete and suite in _SUITES else None
        if pair is None:
            share = os.urandom(len(shares[group]))
            conn.sendall(_record(22, 0x0303, self._server_hello13(hello, suite, group, share)))
            time.sleep(0.05)
            return
        key, share = pair
        message = self._server_hello13(hello, suite, group, share)
        conn.sendall(_record(22, 0x0303, message))
        conn.settimeout(5)
        finish(conn, transcript + message, suite, key, shares[group], self.profile.certificate)

    @staticmethod
    def _server_hello13(
        hello: _Hello, suite: int, group: int, share: bytes, random: bytes = b""
    ) -> bytes:
        key_share = struct.pack(">H", group) + (_vec(share, 2) if share else b"")
        extensions = (
            struct.pack(">HH", 43, 2) + b"\x03\x04" + struct.pack(">H", 51) + _vec(key_share, 2)
        )
        body = (
            b"\x03\x03"
            + (random or os.urandom(32))
            + _vec(hello.session_id, 1)
            + struct.pack(">HB", suite, 0)
            + _vec(extensions, 2)
        )
        return _handshake(2, body)

    def _flight(
        self, hello: _Hello, version: int, suite: int, *, previous: ServerSession | None = None
    ) -> tuple[bytes, ServerSession | None]:
        """ServerHello..ServerHelloDone, and the state to finish the handshake (None: cannot)."""
        profile = self.profile
        name = _NAMES.get(suite, "")
        compression = 1 if profile.compression and 1 in hello.compression else 0
        extensions = b""
        secure = profile.renegotiation_info and (
            0xFF01 in hello.extensions or 0x00FF in hello.suites
        )
        if secure:
            verify = previous.client_verify + previous.server_verify if previous else b""
            extensions += struct.pack(">H", 0xFF01) + _vec(_vec(verify, 1), 2)
        if profile.ticket_lifetime is not None and 35 in hello.extensions:
            extensions += struct.pack(">HH", 35, 0)
        if profile.heartbleed and 15 in hello.extensions:
            # The heartbeat extension, as OpenSSL 1.0.1 answers it (peer allowed to send).
            extensions += struct.pack(">HHB", 15, 1, 1)
        server_random = os.urandom(32)
        server_hello = (
            struct.pack(">H", version)
            + server_random
            + _vec(os.urandom(32), 1)
            + struct.pack(">HB", suite, compression)
            + (_vec(extensions, 2) if extensions else b"")
        )
        messages = _handshake(2, server_hello)
        if "anon" not in name and profile.certificate:
            messages += _handshake(11, _vec(_vec(profile.certificate, 3), 3))
        state = ServerSession(
            version=version,
            suite=suite,
            client_version=hello.version,
            client_random=hello.random,
            server_random=server_random,
            transcript=[],
            rsa_key=self._key,
            secure_renegotiation=bool(secure),
            ticket_lifetime=profile.ticket_lifetime if 35 in hello.extensions else None,
        )
        params = b""
        if "_DHE_" in name or "_DH_anon_" in name:
            prime = profile.dh_prime or safe_prime(profile.dh_bits)
            size = (prime.bit_length() + 7) // 8
            private = self._static(("dh", prime), lambda: int.from_bytes(os.urandom(32), "big") | 1)
            public = pow(profile.dh_generator, private, prime)
            generator = profile.dh_generator.to_bytes(
                max(1, (profile.dh_generator.bit_length() + 7) // 8), "big"
            )
            params = (
                _vec(prime.to_bytes(size, "big"), 2)
                + _vec(generator, 2)
                + _vec(public.to_bytes(size, "big"), 2)
            )
            state.dh = (prime, private)
        elif "_ECDHE_" in name or "_ECDH_anon_" in name:
            pair = self._static(("ec", profile.curve), lambda: key_pair(profile.curve))
            if pair is not None:
                state.ecdhe, point = pair
            else:
                point = b"\x04" + os.urandom(64)
            params = b"\x03" + struct.pack(">H", profile.curve) + _vec(point, 1)
        elif "RSA_EXPORT" in name:
            params = _vec(_big(profile.export_rsa_bits), 2) + _vec(b"\x01\x00\x01", 2)
        if params:
            if "anon" in name:
                signature = b""
            elif self._key is not None:
                signed = hello.random + server_random + params
                signature = sign_params(self._key, version, signed)
            else:
                signature = (b"\x04\x01" if version >= 0x0303 else b"") + _vec(os.urandom(256), 2)
            messages += _handshake(12, params + signature)
        messages += _handshake(14, b"")
        suite_params = supported().get(suite)
        complete = (
            compression == 0
            and suite_params is not None
            and (
                state.ecdhe is not None
                or state.dh is not None
                or (suite_params.kex == "RSA" and self._key is not None)
            )
        )
        state.transcript = [hello.raw, messages]
        return messages, state if complete else None

    def _hostile(self, conn: socket.socket, hello: _Hello) -> None:
        mode = self.profile.hostile
        version = min(hello.version, 0x0303)
        suite = hello.suites[0] if hello.suites else 0x002F
        server_hello = (
            struct.pack(">H", version) + os.urandom(32) + b"\x00" + struct.pack(">HB", suite, 0)
        )
        if mode == "garbage":
            conn.sendall(b"\x99" + os.urandom(63))
        elif mode == "http":
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif mode == "drip":
            data = _record(22, version, _handshake(2, server_hello))
            for byte in data:
                if self.stopping.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.3)
        elif mode == "huge-record":
            conn.sendall(b"\x16\x03\x03\xff\xff" + os.urandom(100))
        elif mode == "huge-message":
            conn.sendall(_record(22, version, b"\x02\xff\xff\xff" + bytes(1000)))
        elif mode == "endless":
            conn.sendall(_record(22, version, _handshake(2, server_hello)))
            chunk = _record(22, version, _handshake(99, bytes(4000)))
            deadline = time.monotonic() + 10
            while not self.stopping.is_set() and time.monotonic() < deadline:
                conn.sendall(chunk)
        elif mode == "close":
            return
        elif mode == "wrong-suite":
            bad = (
                struct.pack(">H", version)
                + os.urandom(32)
                + b"\x00"
                + struct.pack(">HB", 0xFAFA, 0)
            )
            conn.sendall(_record(22, version, _handshake(2, bad) + _handshake(14, b"")))
        elif mode == "bad-hello":
            bad = struct.pack(">H", version) + os.urandom(32) + b"\xc8" + bytes(10)
            conn.sendall(_record(22, version, _handshake(2, bad)))
        elif mode == "bad-alert":
            conn.sendall(_record(21, version, b"\x02"))
        time.sleep(0.05)
