"""TLS 1.0-1.2 key derivation and record protection, for the handshakes keywire completes.

The PRF (RFC 2246 §5, RFC 5246 §5), the key block, and one direction's record protection for
the suites keywire can finish a handshake with: AES-GCM/CCM and ChaCha20-Poly1305 (AEAD), and
CBC, RC4 or NULL with an HMAC (MAC-then-encrypt, explicit IVs from TLS 1.1, chained before).
Everything else (ARIA, GOST, PSK, SRP, EXPORT, SSL 3.0) is left out: a probe that would need
it reports that keywire cannot complete the handshake, never a verdict about the server.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from typing import Any

from .._dataclass import dataclass
from ._constants import Version
from ._wire import DecodeError, u8, u16
from .suites import by_code

_BLOCK = {"AES": 16, "CAMELLIA": 16, "SEED": 16, "3DES": 8, "IDEA": 8}
_MACS = {"SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384", "MD5": "md5"}


@dataclass(frozen=True, kw_only=True)
class SuiteParams:
    """How to protect records for one suite."""

    code: int
    kex: str  # "ECDHE", "DHE" or "RSA"
    anonymous: bool
    mode: str  # "gcm", "ccm", "ccm8", "chacha", "cbc", "stream", "null"
    algorithm: str  # "AES", "CAMELLIA", "3DES", "CHACHA20", "RC4", "NULL"...
    key_len: int
    fixed_iv_len: int
    mac: str | None
    prf_hash: str
    tls12_only: bool

    @property
    def mac_len(self) -> int:
        return hashlib.new(self.mac).digest_size if self.mac else 0

    @property
    def block(self) -> int:
        return _BLOCK.get(self.algorithm, 0)


def _params(code: int) -> SuiteParams | None:
    suite = by_code(code)
    if suite.tls13 or suite.export or suite.kex not in ("ECDHE", "DHE", "RSA"):
        return None
    if suite.auth not in ("RSA", "ECDSA", "DSS", "anon"):
        return None
    cipher = suite.cipher
    mac = None if suite.aead else _MACS.get(suite.mac)
    if not suite.aead and mac is None:
        return None
    prf = "sha384" if suite.name.endswith("SHA384") else "sha256"
    common: dict[str, Any] = dict(
        code=code,
        kex=suite.kex,
        anonymous=suite.anonymous,
        mac=mac,
        prf_hash=prf,
        tls12_only=suite.tls12_only,
    )
    if cipher in ("AES_128_GCM", "AES_256_GCM"):
        return SuiteParams(
            mode="gcm", algorithm="AES", key_len=suite.bits // 8, fixed_iv_len=4, **common
        )
    if cipher in ("AES_128_CCM", "AES_256_CCM", "AES_128_CCM_8", "AES_256_CCM_8"):
        mode = "ccm8" if cipher.endswith("_8") else "ccm"
        return SuiteParams(
            mode=mode, algorithm="AES", key_len=suite.bits // 8, fixed_iv_len=4, **common
        )
    if cipher == "CHACHA20_POLY1305" and 0xCCA8 <= code <= 0xCCAE:
        return SuiteParams(
            mode="chacha", algorithm="CHACHA20", key_len=32, fixed_iv_len=12, **common
        )
    if cipher in ("AES_128_CBC", "AES_256_CBC", "CAMELLIA_128_CBC", "CAMELLIA_256_CBC"):
        algorithm = cipher.split("_")[0]
        key_len = int(cipher.split("_")[1]) // 8
        return SuiteParams(
            mode="cbc", algorithm=algorithm, key_len=key_len, fixed_iv_len=16, **common
        )
    if cipher == "3DES_EDE_CBC":
        return SuiteParams(mode="cbc", algorithm="3DES", key_len=24, fixed_iv_len=8, **common)
    if cipher in ("SEED_CBC", "IDEA_CBC"):
        algorithm = cipher.split("_")[0]
        return SuiteParams(
            mode="cbc", algorithm=algorithm, key_len=16, fixed_iv_len=_BLOCK[algorithm], **common
        )
    if cipher == "RC4_128":
        return SuiteParams(mode="stream", algorithm="RC4", key_len=16, fixed_iv_len=0, **common)
    if cipher == "NULL":
        return SuiteParams(mode="null", algorithm="NULL", key_len=0, fixed_iv_len=0, **common)
    return None


@functools.lru_cache(maxsize=1)
def supported() -> dict[int, SuiteParams]:
    """Every suite keywire can complete a TLS 1.0-1.2 handshake with, by code."""
    from ._suite_table import TLS_SUITES

    found = {code: _params(code) for code, _ in TLS_SUITES}
    return {code: params for code, params in found.items() if params is not None}


def _p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return out[:length]


def prf(
    version: int, hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int
) -> bytes:
    """The TLS PRF: P_<hash> for TLS 1.2, P_MD5 XOR P_SHA1 over the split secret before."""
    if version >= Version.TLS12:
        return _p_hash(hash_name, secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, length)
    sha1 = _p_hash("sha1", secret[len(secret) - half :], label + seed, length)
    return bytes(a ^ b for a, b in zip(md5, sha1, strict=True))


def handshake_hash(version: int, hash_name: str, messages: bytes) -> bytes:
    """The hash of the handshake messages that Finished and the extended master secret use."""
    if version >= Version.TLS12:
        return hashlib.new(hash_name, messages).digest()
    return hashlib.md5(messages).digest() + hashlib.sha1(messages).digest()  # noqa: S324 - TLS 1.0/1.1 Finished


@dataclass(frozen=True)
class KeyBlock:
    """The keys and IVs a TLS 1.2 key block splits into, for each direction."""

    client_mac: bytes
    server_mac: bytes
    client_key: bytes
    server_key: bytes
    client_iv: bytes
    server_iv: bytes


def key_block(
    params: SuiteParams, version: int, master: bytes, client_random: bytes, server_random: bytes
) -> KeyBlock:
    mac_len = params.mac_len
    iv_len = params.fixed_iv_len
    if params.mode == "cbc" and version >= Version.TLS11:
        iv_len = 0  # explicit per-record IVs
    size = 2 * (mac_len + params.key_len + iv_len)
    block = prf(
        version, params.prf_hash, master, b"key expansion", server_random + client_random, size
    )
    parts = []
    at = 0
    for length in (mac_len, mac_len, params.key_len, params.key_len, iv_len, iv_len):
        parts.append(block[at : at + length])
        at += length
    return KeyBlock(*parts)


def _block_cipher(algorithm: str, key: bytes) -> Any:
    from cryptography.hazmat.decrepit.ciphers import algorithms as old
    from cryptography.hazmat.primitives.ciphers import algorithms

    if algorithm == "AES":
        return algorithms.AES(key)
    if algorithm == "CAMELLIA":
        return old.Camellia(key)
    if algorithm == "3DES":
        return old.TripleDES(key)
    if algorithm == "SEED":
        return old.SEED(key)
    return old.IDEA(key)


class Protection:
    """One direction's record protection; the null protection until a ChangeCipherSpec."""

    def __init__(
        self,
        params: SuiteParams | None = None,
        version: int = Version.TLS12,
        *,
        key: bytes = b"",
        iv: bytes = b"",
        mac_key: bytes = b"",
        encrypt: bool = True,
    ) -> None:
        self.params = params
        self.version = version
        self._key = key
        self._iv = iv
        self._mac_key = mac_key
        self._seq = 0
        self._aead: Any = None
        self._stream: Any = None
        if params is None:
            return
        from cryptography.hazmat.primitives.ciphers import Cipher
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

        if params.mode == "gcm":
            self._aead = AESGCM(key)
        elif params.mode in ("ccm", "ccm8"):
            self._aead = AESCCM(key, tag_length=8 if params.mode == "ccm8" else 16)
        elif params.mode == "chacha":
            self._aead = ChaCha20Poly1305(key)
        elif params.mode == "stream":
            from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4

            cipher = Cipher(ARC4(key), mode=None)
            self._stream = cipher.encryptor() if encrypt else cipher.decryptor()

    @property
    def active(self) -> bool:
        return self.params is not None

    def _header(self, content_type: int, length: int) -> bytes:
        return self._seq.to_bytes(8, "big") + u8(content_type) + u16(self.version) + u16(length)

    def _mac(self, content_type: int, plain: bytes) -> bytes:
        assert self.params is not None and self.params.mac
        header = self._header(content_type, len(plain))
        return hmac.new(self._mac_key, header + plain, self.params.mac).digest()

    def seal(self, content_type: int, plain: bytes) -> bytes:
        """The record (header included) carrying ``plain``."""
        params = self.params
        if params is None:
            body = plain
        elif self._aead is not None:
            aad = self._header(content_type, len(plain))
            if params.mode == "chacha":
                nonce = self._xor_nonce()
                body = self._aead.encrypt(nonce, plain, aad)
            else:
                explicit = self._seq.to_bytes(8, "big")
                body = explicit + self._aead.encrypt(self._iv + explicit, plain, aad)
        else:
            data = plain + (self._mac(content_type, plain) if params.mac else b"")
            if params.mode == "cbc":
                body = self._cbc_encrypt(data)
            elif params.mode == "stream":
                body = self._stream.update(data)
            else:
                body = data
        if params is not None:
            self._seq += 1
        return u8(content_type) + u16(self.version) + u16(len(body)) + body

    def open(self, content_type: int, body: bytes) -> bytes:
        """The plaintext of a received record's ``body``; DecodeError when it does not verify."""
        params = self.params
        if params is None:
            return body
        try:
            plain = self._open(params, content_type, body)
        finally:
            self._seq += 1
        return plain

    def _open(self, params: SuiteParams, content_type: int, body: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        if self._aead is not None:
            tag = 8 if params.mode == "ccm8" else 16
            if params.mode == "chacha":
                nonce, sealed = self._xor_nonce(), body
            else:
                if len(body) < 8 + tag:
                    raise DecodeError("encrypted record too short")
                nonce, sealed = self._iv + body[:8], body[8:]
            aad = self._header(content_type, len(sealed) - tag)
            try:
                plain: bytes = self._aead.decrypt(nonce, sealed, aad)
            except InvalidTag:
                raise DecodeError("a record did not decrypt (bad record MAC)") from None
            return plain
        if params.mode == "cbc":
            data = self._cbc_decrypt(body)
        elif params.mode == "stream":
            data = self._stream.update(body)
        else:
            data = body
        size = params.mac_len
        if len(data) < size:
            raise DecodeError("record shorter than its MAC")
        plain, mac = data[: len(data) - size], data[len(data) - size :]
        if not hmac.compare_digest(mac, self._mac(content_type, plain)):
            raise DecodeError("a record did not verify (bad record MAC)")
        return plain

    def _xor_nonce(self) -> bytes:
        seq = self._seq.to_bytes(12, "big")
        return bytes(a ^ b for a, b in zip(self._iv, seq, strict=True))

    def _cbc_encrypt(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, modes

        assert self.params is not None
        size = self.params.block
        pad = size - (len(data) + 1) % size
        padded = data + bytes([pad]) * (pad + 1)
        explicit = self.version >= Version.TLS11
        iv = os.urandom(size) if explicit else self._iv
        cipher = Cipher(_block_cipher(self.params.algorithm, self._key), modes.CBC(iv))
        encryptor = cipher.encryptor()
        sealed = encryptor.update(padded) + encryptor.finalize()
        if not explicit:
            self._iv = sealed[-size:]
            return sealed
        return iv + sealed

    def _cbc_decrypt(self, body: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, modes

        assert self.params is not None
        size = self.params.block
        explicit = self.version >= Version.TLS11
        if explicit:
            iv, body = body[:size], body[size:]
        else:
            iv = self._iv
        if not body or len(body) % size or len(iv) != size:
            raise DecodeError("CBC record of a length that is not whole blocks")
        if not explicit:
            self._iv = body[-size:]
        decryptor = Cipher(
            _block_cipher(self.params.algorithm, self._key), modes.CBC(iv)
        ).decryptor()
        padded = decryptor.update(body) + decryptor.finalize()
        pad = padded[-1]
        if pad + 1 > len(padded) or padded[-pad - 1 :] != bytes([pad]) * (pad + 1):
            raise DecodeError("a record did not verify (bad padding)")
        return padded[: -pad - 1]
