"""TLS 1.3 key schedule and record decryption (the handshake itself runs against real servers
in the lab tests: OpenSSL through Python's ssl, and tlslite-ng)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from keywire.tls._constants import Group
from keywire.tls._wire import DecodeError
from keywire.tls.records import Record
from keywire.tls.tls13 import (
    KeyShare,
    RecordDecryptor,
    hkdf_expand_label,
    hkdf_extract,
    server_handshake_keys,
)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
@pytest.mark.parametrize("length", [12, 16, 32, 48, 100])
def test_expand_label_is_rfc5869_expand(hash_name: str, length: int) -> None:
    secret = bytes(range(48))
    label, context = b"key", b"\x01\x02"
    info = length.to_bytes(2, "big") + bytes([len(b"tls13 " + label)]) + b"tls13 " + label
    info += bytes([len(context)]) + context
    algorithm = hashes.SHA256() if hash_name == "sha256" else hashes.SHA384()
    expected = HKDFExpand(algorithm, length, info).derive(secret)
    assert hkdf_expand_label(hash_name, secret, label, context, length) == expected


def test_rfc8448_early_secret() -> None:
    # RFC 8448 §3: HKDF-Extract(0, 0) with SHA-256.
    early = hkdf_extract("sha256", bytes(32), bytes(32))
    assert early.hex() == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"


@pytest.mark.parametrize(
    "group", [Group.X25519, Group.X448, Group.SECP256R1, Group.SECP384R1, Group.SECP521R1]
)
def test_key_shares_agree(group: Group) -> None:
    a, b = KeyShare(group), KeyShare(group)
    assert a.shared(b.public) == b.shared(a.public)
    with pytest.raises(DecodeError):
        a.shared(b"\x04" + bytes(10))


@pytest.mark.parametrize(("suite", "aead"), [(0x1301, AESGCM), (0x1303, ChaCha20Poly1305)])
def test_record_decryption_round_trip(suite: int, aead: type) -> None:
    key, iv = server_handshake_keys(suite, b"shared secret", b"transcript")
    sealer = aead(key)
    decryptor = RecordDecryptor(suite, key, iv)
    for seq, text in enumerate([b"first", b"second"]):
        plain = text + b"\x16" + bytes(5)  # content, inner type, padding
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big"), strict=True))
        header = b"\x17\x03\x03" + (len(plain) + 16).to_bytes(2, "big")
        record = Record(23, 0x0303, sealer.encrypt(nonce, plain, header))
        assert decryptor.decrypt(record) == (0x16, text)
    with pytest.raises(DecodeError, match="bad tag"):
        decryptor.decrypt(Record(23, 0x0303, bytes(40)))


def test_handshake_keys_depend_on_the_transcript() -> None:
    one = server_handshake_keys(0x1302, b"s", hashlib.sha384(b"a").digest())
    two = server_handshake_keys(0x1302, b"s", hashlib.sha384(b"b").digest())
    assert one != two and len(one[0]) == 32 and len(one[1]) == 12
