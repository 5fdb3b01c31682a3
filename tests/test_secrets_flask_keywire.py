"""flask_keywire keys in the secret catalogue: generated keys, boundaries, and KW701 with redaction.

The table cases (one positive, near-misses) are in test_secrets.py with every other entry.
"""

from __future__ import annotations

import json
import zlib

import pytest

from keywire.checks import exposure
from keywire.net.http import HttpResponse
from keywire.secrets import find_secrets
from keywire.secrets.catalogue import base62_encode, keywire_key_checksum_ok

# Fixed keys built the way flask_keywire builds them (prefix, 12-char id, 43-char secret, CRC32).
_BODY = "kw_live_4Qm0c2Xr9LbT_0fJ3kL9sQ2xV7bN1mC4zR8tY6uW5eA3dF2gH1jK0lPq"
KEY = _BODY + base62_encode(zlib.crc32(_BODY.encode()), 6)
_TEST_BODY = "kw_test_ZZZZZZZZZZZZ_" + "a1B2c3D4e5" * 4 + "xyz"
TEST_KEY = _TEST_BODY + base62_encode(zlib.crc32(_TEST_BODY.encode()), 6)


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def _types(text: str) -> list[str]:
    return [hit.type.id for hit in find_secrets(text, where="body")]


@pytest.mark.parametrize(
    "text",
    [
        KEY,
        TEST_KEY,
        json.dumps({"api_key": KEY}),
        f"Authorization: Bearer {KEY}",
        f"error: key {KEY} is revoked",
        f"https://api.example/v1?api_key={KEY}&page=2",
    ],
)
def test_positive(text):
    assert _types(text) == ["flask-keywire-key"]


def test_generated_keys_are_recognised():
    flask_keywire = pytest.importorskip("flask_keywire")
    for prefix in ("kw_live", "kw_test", "acme_prod"):
        key = flask_keywire.generate_key(prefix).plaintext
        assert _types(f'{{"leaked": "{key}"}}') == ["flask-keywire-key"]
        assert keywire_key_checksum_ok(key)


@pytest.mark.parametrize(
    "text",
    [
        _flip(KEY, -1),  # checksum changed
        _flip(KEY, -20),  # secret changed: checksum no longer matches
        _flip(KEY, 10),  # id changed
        KEY[:-1],  # one character short
        KEY + "Q",  # one character long
        "x" + KEY,  # inside a longer token
        "_" + KEY,
        KEY.replace("kw_live", "KW_LIVE"),  # prefixes are lowercase
        KEY.replace("_", "-"),
        "kw_canary_" + "0123456789abcdef" * 2,  # keywire's own canary
        _BODY,  # no checksum at all
    ],
)
def test_near_misses(text):
    assert "flask-keywire-key" not in _types(text)


def test_exposed_key_is_reported_as_kw701_redacted():
    response = HttpResponse(
        url="https://api.example/v1/debug",
        method="GET",
        probe="https-baseline",
        status=200,
        reason="OK",
        headers=(("Content-Type", "application/json"),),
        body=json.dumps({"config": {"key": KEY}}).encode(),
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.01,
    )
    hits = exposure.scan_response(response)
    obs = exposure.ExposureObservation(
        target=response.url, responses_seen=1, hits=tuple((response.url, h) for h in hits)
    )
    findings = exposure.check(obs)
    assert [f.rule_id for f in findings] == ["KW701"]
    text = repr(findings[0])
    assert KEY not in text and KEY[-20:] not in text
    assert findings[0].confidence.value == "high"  # validated offline by the checksum
