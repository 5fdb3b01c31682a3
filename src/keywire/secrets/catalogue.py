"""The secret catalogue: one entry per kind of credential keywire recognises in responses.

Each entry is data: a regular expression whose group ``secret`` is the credential, an optional
offline validator (GitHub's CRC32 checksum, JWT structure, PEM body), an optional minimum Shannon
entropy, and the rule it maps to. Adding a provider is adding an entry here, plus its positive cases
and near-misses in ``tests/secrets/test_catalogue.py``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class SecretKind(enum.Enum):
    API_KEY = "api_key"
    PRIVATE_KEY = "private_key"
    TOKEN = "token"  # noqa: S105


@dataclass(frozen=True, kw_only=True)
class SecretType:
    """One recognisable kind of secret."""

    id: str
    provider: str
    name: str
    kind: SecretKind
    pattern: re.Pattern[str]
    validate: Callable[[str], bool] | None = None
    min_entropy: float = 0.0
    keyword: str = ""


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def base62_encode(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(BASE62[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def github_checksum_ok(token: str) -> bool:
    """GitHub's token format: prefix, 30 random base62 characters, base62(CRC32) in 6."""
    body = token.split("_", 1)[1]
    random_part, checksum = body[:-6], body[-6:]
    return base62_encode(zlib.crc32(random_part.encode()), 6) == checksum


def keywire_key_checksum(body: str) -> str:
    """flask_keywire's checksum: base62(CRC32) of ``<prefix>_<id>_<secret>``, 6 characters."""
    return base62_encode(zlib.crc32(body.encode()), 6)


def keywire_key_checksum_ok(token: str) -> bool:
    """A flask_keywire key ends with the checksum of everything before it."""
    return keywire_key_checksum(token[:-6]) == token[-6:]


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def jwt_structure_ok(token: str) -> bool:
    """Header and payload are base64url JSON objects and the header names an ``alg``."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)


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


def _aws_key_id_ok(key_id: str) -> bool:
    """AWS key IDs are base32 after their 4-letter prefix; AWS's documentation examples are not keys."""
    if key_id.endswith("EXAMPLE"):
        return False
    try:
        base64.b32decode(key_id[4:] + "=" * (-len(key_id[4:]) % 8))
    except (ValueError, binascii.Error):
        return False
    return True


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_B = r"(?<![A-Za-z0-9_\-])"  # left boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_\-])"  # right boundary

CATALOGUE: tuple[SecretType, ...] = (
    SecretType(
        id="aws-access-key-id",
        provider="AWS",
        name="AWS access key ID",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E),
        validate=_aws_key_id_ok,
        min_entropy=2.8,
    ),
    SecretType(
        id="aws-secret-access-key",
        provider="AWS",
        name="AWS secret access key",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?i:aws)[\w\- ]{0,20}?(?i:secret)[\w\- ]{0,20}?[\"']?\s*[:=]\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        min_entropy=4.0,
        keyword="secret",
    ),
    SecretType(
        id="stripe-secret-key",
        provider="Stripe",
        name="Stripe secret or restricted key",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,247})" + _E),
        min_entropy=3.5,
    ),
    SecretType(
        id="github-token",
        provider="GitHub",
        name="GitHub token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>gh[pousr]_[0-9A-Za-z]{36})" + _E),
        validate=github_checksum_ok,
    ),
    SecretType(
        id="github-fine-grained-pat",
        provider="GitHub",
        name="GitHub fine-grained personal access token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})" + _E),
        min_entropy=4.0,
    ),
    SecretType(
        id="slack-token",
        provider="Slack",
        name="Slack token",
        kind=SecretKind.API_KEY,
        pattern=_re(
            _B + r"(?P<secret>xox(?:b|p|a|r|s|e)-(?:\d{8,14}-){1,3}[0-9A-Za-z]{20,64})" + _E
        ),
    ),
    SecretType(
        id="slack-webhook",
        provider="Slack",
        name="Slack incoming webhook URL",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?P<secret>https://hooks\.slack\.com/services/T[0-9A-Z]{8,12}/B[0-9A-Z]{8,12}/[0-9A-Za-z]{24})"
            + _E
        ),
    ),
    SecretType(
        id="google-api-key",
        provider="Google",
        name="Google API key",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>AIza[0-9A-Za-z_\-]{35})" + _E),
        min_entropy=3.5,
    ),
    SecretType(
        id="openai-api-key",
        provider="OpenAI",
        name="OpenAI API key",
        kind=SecretKind.API_KEY,
        pattern=_re(
            _B
            + r"(?P<secret>sk-(?:(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{20,150}|[0-9A-Za-z]{20})"
            + r"T3BlbkFJ[0-9A-Za-z_\-]{20,150})"
            + _E
        ),
        min_entropy=4.0,
    ),
    SecretType(
        id="flask-keywire-key",
        provider="keywire",
        name="flask_keywire API key",
        kind=SecretKind.API_KEY,
        # <prefix>_<id>_<secret><checksum>: a configurable prefix (kw_live, kw_test, ...), a
        # 12-character id, 43 characters of secret (256 bits) and 6 of CRC32 checksum.
        pattern=_re(
            _B
            + r"(?P<secret>[a-z][a-z0-9]{0,15}(?:_[a-z0-9]{1,15}){0,3}_[0-9A-Za-z]{12}_[0-9A-Za-z]{49})"
            + _E
        ),
        validate=keywire_key_checksum_ok,
    ),
    SecretType(
        id="private-key",
        provider="PEM",
        name="Private key (PEM)",
        kind=SecretKind.PRIVATE_KEY,
        pattern=_re(
            r"(?P<secret>-----BEGIN (?P<label>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
            r"[\s\S]{0,16384}?-----END (?P=label)-----)"
        ),
        validate=pem_body_ok,
    ),
    SecretType(
        id="jwt",
        provider="JWT",
        name="JSON Web Token",
        kind=SecretKind.TOKEN,
        pattern=_re(
            _B
            + r"(?P<secret>eyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{0,1024})"
            + _E
        ),
        validate=jwt_structure_ok,
    ),
)
