"""Offline checks that tell a real credential from something that merely looks like one.

None of these contact any service: they check what a format itself guarantees (a checksum, an
encoding, a structure) or decode facts that are not secret (the AWS account a key ID belongs to,
the algorithm a JWT names).
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from collections import Counter

from .. import _json
from ..keyformat import base62_encode, key_checksum, key_checksum_ok

BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def github_checksum_ok(token: str) -> bool:
    """GitHub's token format: prefix, 30 random base62 characters, base62(CRC32) in 6."""
    body = token.split("_", 1)[1]
    random_part, checksum = body[:-6], body[-6:]
    return base62_encode(zlib.crc32(random_part.encode()), 6) == checksum


def b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return _json.loads(base64.urlsafe_b64decode(padded))


def jwt_header(token: str) -> dict[str, object] | None:
    """The decoded JOSE header of a JWT-shaped value, or None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = b64url_json(parts[0])
        payload = b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or "alg" not in header or not isinstance(payload, dict):
        return None
    return header


def jwt_structure_ok(token: str) -> bool:
    """Header and payload are base64url JSON objects and the header names an ``alg``."""
    return jwt_header(token) is not None


def jwt_facts(token: str) -> dict[str, str]:
    """The algorithm a JWT names (``none`` means unsigned: anyone can forge one)."""
    header = jwt_header(token) or {}
    return {"alg": str(header.get("alg", ""))[:32]}


def pem_body_ok(block: str) -> bool:
    """A real PEM private key has a base64 body of some length between its armour lines."""
    lines = block.strip().splitlines()[1:-1]
    body = "".join(line.strip() for line in lines if ":" not in line)
    if len(body) < 64:
        return False
    try:
        base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


def aws_key_id_ok(key_id: str) -> bool:
    """AWS key IDs are base32 after their 4-letter prefix; AWS's documentation examples are not keys."""
    if key_id.endswith("EXAMPLE"):
        return False
    try:
        base64.b32decode(key_id[4:] + "=" * (-len(key_id[4:]) % 8))
    except (ValueError, binascii.Error):
        return False
    return True


def aws_account_id(key_id: str) -> str | None:
    """The AWS account a key ID belongs to, decoded offline from the ID itself.

    Key IDs issued since 2019 carry the account number in bits 1-40 of their base32 body
    (older IDs do not, and decode to a number that may not be an account: then None).
    """
    try:
        raw = base64.b32decode(key_id[4:] + "=" * (-len(key_id[4:]) % 8))
    except (ValueError, binascii.Error):
        return None
    account = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{account:012d}" if account <= 999_999_999_999 else None


def aws_facts(key_id: str) -> dict[str, str]:
    account = aws_account_id(key_id)
    return {"aws_account": account} if account is not None else {}


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generator[i] if (top >> i) & 1 else 0
    return checksum


def bech32_ok(text: str) -> bool:
    """A valid Bech32 string (BIP 173): age secret keys carry this checksum."""
    lowered = text.lower()
    hrp, sep, data = lowered.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [BECH32.index(c) for c in data]
    return _bech32_polymod(values) == 1


def discord_token_ok(token: str) -> bool:
    """A Discord bot token starts with the base64 of the bot's numeric user ID."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=True)
    except (ValueError, binascii.Error):
        return False
    return decoded.isdigit() and 15 <= len(decoded) <= 20


def azure_storage_key_ok(key: str) -> bool:
    """Azure storage account keys are 64 random bytes in base64."""
    try:
        return len(base64.b64decode(key, validate=True)) == 64
    except (ValueError, binascii.Error):
        return False


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of payment card numbers (ISO/IEC 7812)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "passwd", "pass", "secret", "changeme", "example", "xxx", "xxxx", "****", "user"}
)


def url_password_ok(password: str) -> bool:
    """A password in a URL that is not a template, a placeholder or a masked value."""
    lowered = password.lower()
    if lowered in _PLACEHOLDER_PASSWORDS or len(password) < 6:
        return False
    if any(mark in password for mark in ("${", "{{", "<", "%s", "*****", "…")):
        return False
    return len(set(password)) > 3


def keywire_key_checksum(body: str) -> str:
    """flask_keywire's checksum: base62(CRC32) of ``<prefix>_<id>_<secret>``, 6 characters."""
    return key_checksum(body)


def keywire_key_checksum_ok(token: str) -> bool:
    """A flask_keywire key ends with the checksum of everything before it."""
    return key_checksum_ok(token)
