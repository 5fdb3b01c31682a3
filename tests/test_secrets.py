"""The secret catalogue: a positive case and near-misses for every entry, and redaction at capture."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from keywire.redact import redact, redact_url
from keywire.secrets import CATALOGUE, find_secrets
from keywire.secrets.catalogue import base62_encode, github_checksum_ok, shannon_entropy


def _github(prefix: str, random_part: str) -> str:
    return f"{prefix}_{random_part}{base62_encode(zlib.crc32(random_part.encode()), 6)}"


def _jwt(header: dict[str, object], payload: dict[str, object]) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(payload)}.c2lnbmF0dXJlLWJ5dGVz"


def _keywire(prefix: str, key_id: str, secret: str) -> str:
    body = f"{prefix}_{key_id}_{secret}"
    return body + base62_encode(zlib.crc32(body.encode()), 6)


GH_RANDOM = "Zx8Kq2Lm4Np6Rs8Tu0Vw2Xy4Za6Bc8"
KW_SECRET = "0fJ3kL9sQ2xV7bN1mC4zR8tY6uW5eA3dF2gH1jK0lPq"  # 43 characters
PEM_BODY = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbeVw4cXPDNz7PL2J\nADJWn8ivTp39uWoyoKDQdzV2Kw2hRANCAAQ4Hn6VTX2ZdPcxoBGrYbuFrDXr2L5N"

POSITIVES = {
    "aws-access-key-id": ["AKIAZ2XCV3BNM4QWE5RT", "ASIAQ7RT3XYZ2ABCDEFG"],
    "aws-secret-access-key": ['aws_secret_access_key = "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"'],
    "stripe-secret-key": ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "rk_test_51Hc8Jq2eZvKYlo2C0aB1cD2eF"],
    "github-token": [
        _github("ghp", GH_RANDOM),
        _github("gho", GH_RANDOM),
        _github("ghs", GH_RANDOM),
    ],
    "github-fine-grained-pat": [
        "github_pat_11ABCDE2Y0aBcDeFgHiJkL_"
        + "mN3oPqR5sTuV7wXyZ9aB1cD3eF5gH7iJ9kL1mN3oPqR5sTuV7wXyZ9aB1cD"
    ],
    "slack-token": ["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    "slack-webhook": [
        "https://hooks.slack.com/services/T0ABCDE12/B0ABCDE34/AbCdEfGhIjKlMnOpQrStUvWx"
    ],
    "google-api-key": ["AIzaSyD7x8Kq2Lm4Np6Rs8Tu0Vw2Xy4Za6Bc8dE"],
    "openai-api-key": [
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zT3BlbkFJAb3dEf6hIj9kLm2nOp5qRs8tUv1w",
        "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",
    ],
    "private-key": [f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"],
    "jwt": [_jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "iat": 1700000000})],
    "flask-keywire-key": [
        _keywire("kw_live", "4Qm0c2Xr9LbT", KW_SECRET),
        _keywire("kw_test", "ZZZZZZZZZZZZ", KW_SECRET),
    ],
}

NEAR_MISSES = {
    "aws-access-key-id": [
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAZ2XCV3BNM4QWE5R",
        "XAKIAZ2XCV3BNM4QWE5RT",
        "AKIAZ2XCV3BNM4QWE5R1",
    ],
    "aws-secret-access-key": [
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Lp3Xk2M",  # no aws/secret context
        'aws_secret_access_key = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',  # no entropy
    ],
    "stripe-secret-key": [
        "sk_live_short",
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_live_aaaaaaaaaaaaaaaaaaaaaaaa",
    ],
    "github-token": [
        _github("ghp", GH_RANDOM)[:-1] + "0",
        "ghx_" + GH_RANDOM + "abcdef",
        "ghp_" + "a" * 35,
    ],
    "github-fine-grained-pat": ["github_pat_short_token"],
    "slack-token": ["xoxb-notatoken", "xoxz-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    "slack-webhook": ["https://hooks.slack.com/services/T0ABCDE12/B0ABCDE34/short"],
    "google-api-key": ["AIzaShort", "AIza" + "a" * 35],
    "openai-api-key": ["sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "sk-proj-notakey"],
    "private-key": [
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        "-----BEGIN PUBLIC KEY-----\n" + PEM_BODY + "\n-----END PUBLIC KEY-----",
        "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END EC PRIVATE KEY-----",
    ],
    "jwt": ["eyJub3QiOiJqd3QifQ.eyJhYmMiOjF9.sig", "eyJhbGciOiJub25l.notjson.x"],
    "flask-keywire-key": [
        _keywire("kw_live", "4Qm0c2Xr9LbT", KW_SECRET)[:-1] + "0",  # wrong checksum
        _keywire("kw_live", "4Qm0c2Xr9LbT", KW_SECRET[:-1]),  # secret one character short
        _keywire("KW_LIVE", "4Qm0c2Xr9LbT", KW_SECRET),  # prefixes are lowercase
        "kw_canary_" + "0123456789abcdef" * 2,  # keywire's own canary
    ],
}


def test_every_catalogue_entry_has_cases():
    ids = {t.id for t in CATALOGUE}
    assert ids == set(POSITIVES) == set(NEAR_MISSES)


@pytest.mark.parametrize(("type_id", "text"), [(k, v) for k, vs in POSITIVES.items() for v in vs])
def test_positive(type_id, text):
    embedded = f'{{"debug": "prefix {text} suffix"}}'
    hits = find_secrets(embedded, where="body")
    assert [h.type.id for h in hits] == [type_id]


@pytest.mark.parametrize(("type_id", "text"), [(k, v) for k, vs in NEAR_MISSES.items() for v in vs])
def test_near_miss(type_id, text):
    assert [h.type.id for h in find_secrets(text, where="body")] == []


def test_redacted_hit_never_holds_the_value():
    secret = POSITIVES["stripe-secret-key"][0]
    (hit,) = find_secrets(secret, where="body")
    assert secret not in repr(hit)
    assert secret not in str(hit.redacted)
    assert str(hit.redacted).startswith("sk_liv")
    assert str(hit.redacted).split("…")[1].startswith(secret[-4:])


def test_github_checksum_function():
    assert github_checksum_ok(_github("ghp", GH_RANDOM))
    assert not github_checksum_ok("ghp_" + GH_RANDOM + "000000")


def test_entropy():
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2


@pytest.mark.parametrize(
    ("value", "shown"),
    [("short", ""), ("twelve-chars", ""), ("thirteen-char", "th"), ("a" * 40, "aaaaaa")],
)
def test_redact_shows_at_most_half(value, shown):
    r = redact(value)
    assert r.prefix == shown
    assert len(r.prefix) + len(r.suffix) <= len(value) / 2
    assert r.sha256 and len(r.sha256) == 64


def test_redact_url():
    url = "https://user:pw@api.test/x?api_key=abcdef&page=2#frag"
    assert (
        redact_url(url) == "https://[redacted]@api.test/x?api_key=[redacted]&page=[redacted]#frag"
    )
    assert redact_url("https://api.test/x") == "https://api.test/x"


def test_scanner_is_bounded_on_a_large_body():
    body = ("AKIAZ2XCV3BNM4QWE5RT " * 50_000)[:1_000_000]
    hits = find_secrets(body, where="body")
    assert len(hits) == 1  # the same value is reported once
