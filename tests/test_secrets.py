"""The secret catalogue: positive cases and near-misses for every entry, offline validation, scanner
bounds, and redaction at capture."""

from __future__ import annotations

import base64
import json
import random
import re
import string
import time
import zlib

import pytest

from keywire.redact import redact, redact_url
from keywire.secrets import CATALOGUE, find_secrets
from keywire.secrets.catalogue import base62_encode, github_checksum_ok, shannon_entropy
from keywire.secrets.validators import aws_account_id, bech32_ok, luhn_ok


def _github(prefix: str, random_part: str) -> str:
    return f"{prefix}_{random_part}{base62_encode(zlib.crc32(random_part.encode()), 6)}"


def _jwt(header: dict[str, object], payload: dict[str, object]) -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(payload)}.c2lnbmF0dXJlLWJ5dGVz"


def _keywire(prefix: str, key_id: str, secret: str) -> str:
    body = f"{prefix}_{key_id}_{secret}"
    return body + base62_encode(zlib.crc32(body.encode()), 6)


_RNG = random.Random(20260601)  # deterministic, and no literal token sits in this file
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"


def r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _bech32(hrp: str, data: bytes) -> str:
    """A Bech32 string (BIP 173), as age encodes its secret keys."""
    from keywire.secrets.validators import BECH32, _bech32_polymod

    bits, value, groups = 0, 0, []
    for byte in data:
        value = (value << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            groups.append((value >> bits) & 31)
    if bits:
        groups.append((value << (5 - bits)) & 31)
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + groups
    polymod = _bech32_polymod([*values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[g] for g in groups + checksum)


def _aws_key_for_account(account: int) -> str:
    raw = ((account << 7) | 0x55).to_bytes(6, "big") + bytes([0x9C, 0x21, 0x4E, 0x7A])
    return "AKIA" + base64.b32encode(raw).decode()


GH_RANDOM = "Zx8Kq2Lm4Np6Rs8Tu0Vw2Xy4Za6Bc8"
KW_SECRET = "0fJ3kL9sQ2xV7bN1mC4zR8tY6uW5eA3dF2gH1jK0lPq"  # 43 characters
PEM_BODY = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbeVw4cXPDNz7PL2J\nADJWn8ivTp39uWoyoKDQdzV2Kw2hRANCAAQ4Hn6VTX2ZdPcxoBGrYbuFrDXr2L5N"
DISCORD_ID = base64.b64encode(b"123456789012345678").decode()  # 24 chars, starts "MT"
AZURE_KEY = base64.b64encode(bytes(_RNG.randrange(256) for _ in range(64))).decode()
AGE_KEY = _bech32("age-secret-key-", bytes(_RNG.randrange(256) for _ in range(32))).upper()
ANTHROPIC = "sk-ant-api03-" + r(93, URLSAFE) + "AA"
GRAFANA_SA = "glsa_" + r(32) + "_" + r(8, HEX)

POSITIVES = {
    "aws-access-key-id": ["AKIAZ2XCV3BNM4QWE5RT", "ASIAQ7RT3XYZ2ABCDEFG"],
    "aws-secret-access-key": ['aws_secret_access_key = "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"'],
    "stripe-secret-key": ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "rk_test_51Hc8Jq2eZvKYlo2C0aB1cD2eF"],
    "stripe-webhook-secret": ["whsec_" + r(32)],
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
    "slack-app-token": ["xapp-1-A0123456789-1234567890123-" + r(64, HEX)],
    "google-api-key": ["AIzaSyD7x8Kq2Lm4Np6Rs8Tu0Vw2Xy4Za6Bc8dE"],
    "google-oauth-client-secret": ["GOCSPX-" + r(28, URLSAFE)],
    "google-oauth-access-token": ["ya29." + r(80, URLSAFE)],
    "openai-api-key": [
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zT3BlbkFJAb3dEf6hIj9kLm2nOp5qRs8tUv1w",
        "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",
    ],
    "anthropic-api-key": [ANTHROPIC],
    "gitlab-token": ["glpat-" + r(20, URLSAFE), "glptt-" + r(40, URLSAFE)],
    "npm-token": ["npm_" + r(36)],
    "pypi-token": ["pypi-AgEIcHlwaS5vcmc" + r(120, URLSAFE)],
    "twilio-api-key": ["SK" + r(32, HEX)],
    "sendgrid-api-key": ["SG." + r(22, URLSAFE) + "." + r(43, URLSAFE)],
    "mailgun-api-key": ["key-" + r(32, HEX)],
    "mailchimp-api-key": [r(32, HEX) + "-us14"],
    "shopify-token": ["shpat_" + r(32, HEX), "shpss_" + r(32, HEX)],
    "square-token": ["sq0atp-" + r(22, URLSAFE), "sq0csp-" + r(43, URLSAFE)],
    "digitalocean-token": ["dop_v1_" + r(64, HEX)],
    "huggingface-token": ["hf_" + r(34, string.ascii_letters)],
    "databricks-token": ["dapi" + r(32, HEX), "dapi" + r(32, HEX) + "-2"],
    "discord-bot-token": [f"DISCORD_TOKEN={DISCORD_ID}.{r(6, URLSAFE)}.{r(27, URLSAFE)}"],
    "telegram-bot-token": ["123456789:AA" + r(33, URLSAFE)],
    "azure-storage-account-key": [
        f"DefaultEndpointsProtocol=https;AccountName=lab;AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net"
    ],
    "azure-ad-client-secret": [r(3) + "8Q~" + r(34, ALNUM + "_~.-")],
    "linear-api-key": ["lin_api_" + r(40)],
    "postman-api-key": ["PMAK-" + r(24, HEX) + "-" + r(34, HEX)],
    "doppler-token": ["dp.pt." + r(43)],
    "pulumi-token": ["pul-" + r(40, HEX)],
    "vault-token": ["hvs." + r(90, URLSAFE)],
    "terraform-cloud-token": [r(14) + ".atlasv1." + r(67, URLSAFE)],
    "newrelic-user-key": ["NRAK-" + r(27, string.ascii_uppercase + string.digits)],
    "grafana-service-account-token": [GRAFANA_SA],
    "grafana-cloud-token": ["glc_" + r(120, ALNUM + "+/") + "=="],
    "sentry-token": ["sntryu_" + r(64, HEX), "sntrys_eyJ" + r(120, ALNUM + "+/_-")],
    "airtable-pat": ["pat" + r(14) + "." + r(64, HEX)],
    "mapbox-secret-token": ["sk.eyJ" + r(60, URLSAFE) + "." + r(22, URLSAFE)],
    "supabase-token": ["sbp_" + r(40, HEX)],
    "alibaba-access-key-id": ["LTAI" + r(20)],
    "age-secret-key": [AGE_KEY],
    "planetscale-token": ["pscale_tkn_" + r(43, URLSAFE)],
    "groq-api-key": ["gsk_" + r(52)],
    "replicate-token": ["r8_" + r(37)],
    "atlassian-api-token": ["ATATT3xFfGF0" + r(180, URLSAFE)],
    "onepassword-service-account-token": ["ops_eyJ" + r(300, ALNUM + "+/")],
    "url-credentials": [
        "postgres://app:" + r(20) + "@db.internal:5432/app",
        "redis://:" + r(16) + "@cache:6379/0",
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
    "stripe-webhook-secret": ["whsec_" + r(20), "whsec_" + "a" * 40],
    "github-token": [
        _github("ghp", GH_RANDOM)[:-1] + "0",
        "ghx_" + GH_RANDOM + "abcdef",
        "ghp_" + "a" * 35,
    ],
    "github-fine-grained-pat": ["github_pat_short_token"],
    "slack-token": ["xoxb-notatoken", "xoxz-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"],
    "slack-webhook": ["https://hooks.slack.com/services/T0ABCDE12/B0ABCDE34/short"],
    "slack-app-token": ["xapp-1-A0123456789-1234567890123-" + r(60, HEX)],
    "google-api-key": ["AIzaShort", "AIza" + "a" * 35],
    "google-oauth-client-secret": ["GOCSPX-" + r(20, URLSAFE), "GOCSPX-" + "A" * 28],
    "google-oauth-access-token": ["ya29.short", "ya29." + "a" * 60],
    "openai-api-key": ["sk-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "sk-proj-notakey"],
    "anthropic-api-key": [ANTHROPIC[:-2] + "AB", "sk-ant-api03-" + r(40, URLSAFE)],
    "gitlab-token": ["glpat-" + r(12, URLSAFE), "glpat-" + "x" * 20],
    "npm-token": ["npm_" + r(30), "npm_" + "a" * 36, "npm_install_dependencies_for_the_app_now"],
    "pypi-token": ["pypi-" + r(80, URLSAFE), "pypi-AgEIcHlwaS5vcmc" + r(20)],
    "twilio-api-key": ["SK" + r(31, HEX), "SK" + r(32, "ABCDEF0123456789"), "SK" + "0" * 32],
    "sendgrid-api-key": ["SG." + r(22, URLSAFE), "SG." + r(10) + "." + r(43)],
    "mailgun-api-key": ["key-" + r(30, HEX), "key-" + "0" * 32, "cache-key-" + r(32, HEX)],
    "mailchimp-api-key": [r(31, HEX) + "-us14", "0" * 32 + "-us1", r(32, HEX) + "-use"],
    "shopify-token": ["shpat_" + r(31, HEX), "shpxx_" + r(32, HEX)],
    "square-token": ["sq0atp-" + r(10, URLSAFE), "sq0xyz-" + r(22, URLSAFE)],
    "digitalocean-token": ["dop_v1_" + r(63, HEX), "dox_v1_" + r(64, HEX), "dop_v1_" + "0" * 64],
    "huggingface-token": ["hf_" + r(20, string.ascii_letters), "hf_" + r(34, string.digits)],
    "databricks-token": ["dapi" + r(31, HEX), "dapi" + "0" * 32],
    "discord-bot-token": [
        f"{DISCORD_ID}.{r(6, URLSAFE)}.{r(27, URLSAFE)}",  # no mention of Discord
        f"discord: {base64.b64encode(b'hello-world-not-id').decode()}.{r(6)}.{r(27)}",
    ],
    "telegram-bot-token": ["123456789:AB" + r(33, URLSAFE), "1234:AA" + r(33, URLSAFE)],
    "azure-storage-account-key": [
        "AccountKey=" + "A" * 86 + "==;",
        "AccountKey=" + AZURE_KEY[:40],
    ],
    "azure-ad-client-secret": [r(3) + "8Q-" + r(34, ALNUM), "abc8Q~" + "a" * 34],
    "linear-api-key": ["lin_api_" + r(30), "lin_api_" + "a" * 40],
    "postman-api-key": ["PMAK-" + r(24, HEX) + "-" + r(20, HEX)],
    "doppler-token": ["dp.pt." + r(20), "dp.st." + r(43)],
    "pulumi-token": ["pul-" + r(39, HEX), "pul-" + "0" * 40],
    "vault-token": ["hvs." + r(10, URLSAFE), "hvx." + r(90, URLSAFE), "hvs." + "a" * 40],
    "terraform-cloud-token": [r(14) + ".atlasv2." + r(67, URLSAFE), r(10) + ".atlasv1." + r(30)],
    "newrelic-user-key": ["NRAK-" + r(20, string.ascii_uppercase), "NRAK-" + "A" * 27],
    "grafana-service-account-token": [GRAFANA_SA[:-1], "glsa_" + "a" * 32 + "_" + "0" * 8],
    "grafana-cloud-token": ["glc_" + r(20), "glc_" + "A" * 64],
    "sentry-token": ["sntryu_" + r(40, HEX), "sntrys_" + r(80)],
    "airtable-pat": ["pat" + r(14) + "." + r(40, HEX), "path." + r(64, HEX)],
    "mapbox-secret-token": ["pk.eyJ" + r(60, URLSAFE) + "." + r(22, URLSAFE), "sk.eyJshort.x"],
    "supabase-token": ["sbp_" + r(39, HEX), "sbp_" + "0" * 40],
    "alibaba-access-key-id": ["LTAI" + r(10), "LTAI" + "a" * 20],
    "age-secret-key": [
        AGE_KEY[:-1] + ("Q" if AGE_KEY[-1] != "Q" else "P"),
        "AGE-SECRET-KEY-1" + "Q" * 40,
    ],
    "planetscale-token": ["pscale_tkn_" + r(20), "pscale_xyz_" + r(43)],
    "groq-api-key": ["gsk_" + r(40), "gsk_" + "a" * 52],
    "replicate-token": ["r8_" + r(30), "r8_" + "a" * 37],
    "atlassian-api-token": ["ATATT3xFfGF0" + r(80, URLSAFE), "ATATT3" + "a" * 180],
    "onepassword-service-account-token": ["ops_eyJ" + r(100, ALNUM), "ops_eyJ" + "A" * 300],
    "url-credentials": [
        "postgres://app:password@db.internal/app",
        "postgres://app:${DB_PASSWORD}@db/app",
        "https://user:****@example.test/",
        "https://example.test/path?x=1",
        "mailto:someone@example.test",
    ],
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


def test_at_least_thirty_providers():
    assert len({t.provider for t in CATALOGUE}) >= 30


def test_every_positive_at_once():
    """All entries in one body: shared literals and anchors must not hide one another."""
    body = "\n".join(f'"{t}": "{v}"' for t, vs in POSITIVES.items() for v in vs)
    found = {h.type.id for h in find_secrets(body, where="body")}
    assert found == set(POSITIVES)


def test_near_misses_do_not_hide_positives():
    """A near-miss right before a positive of the same entry does not swallow it."""
    for type_id, texts in POSITIVES.items():
        miss = NEAR_MISSES[type_id][0]
        hits = find_secrets(f"{miss} {texts[0]}", where="body")
        assert type_id in {h.type.id for h in hits}, type_id


def test_aws_account_is_decoded_offline():
    key = _aws_key_for_account(123456789012)
    (hit,) = find_secrets(f"id={key}", where="body")
    assert hit.type.id == "aws-access-key-id"
    assert hit.fact("aws_account") == "123456789012"
    assert aws_account_id(key) == "123456789012"


def test_aws_account_not_claimed_when_out_of_range():
    key = _aws_key_for_account(2**40 - 1)  # not a 12-digit account: an older key ID
    assert aws_account_id(key) is None


def test_jwt_alg_is_recorded():
    unsigned = _jwt({"alg": "none"}, {"sub": "admin"}).rsplit(".", 1)[0] + "."
    (hit,) = find_secrets(f"token={unsigned}", where="body")
    assert hit.type.id == "jwt" and hit.fact("alg") == "none"
    (signed,) = find_secrets(POSITIVES["jwt"][0], where="body")
    assert signed.fact("alg") == "HS256"


def test_bech32_and_luhn():
    assert bech32_ok(AGE_KEY) and not bech32_ok(AGE_KEY[:-2] + "QQ")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_scanner_is_bounded_on_hostile_prefixes():
    body = "sk_" * 400_000 + "AKIA" * 100_000 + "://" * 100_000
    started = time.perf_counter()
    assert find_secrets(body, where="body") == []
    assert time.perf_counter() - started < 10


def test_entries_without_literals_still_work():
    from keywire.secrets.catalogue import SecretKind, SecretType

    plain = SecretType(
        id="custom",
        provider="Custom",
        name="custom key",
        kind=SecretKind.API_KEY,
        pattern=re.compile(r"(?P<secret>ck_[0-9a-f]{16})"),
    )
    hits = find_secrets("x ck_0123456789abcdef y", where="body", catalogue=[plain])
    assert [h.type.id for h in hits] == ["custom"]


class _CountingText(str):
    """A text that counts the searches made in it."""

    searches: list[str]

    def find(self, sub, *args):  # type: ignore[override]
        self.searches.append(sub)
        return super().find(sub, *args)


def test_literals_with_a_character_the_text_lacks_are_not_searched():
    """Lower-case JSON holds no upper-case prefix: no pass over the body for AKIA, AIza, ..."""
    from keywire.secrets.scanner import _Occurrences

    body = json.dumps([{"id": n, "name": f"item {n}"} for n in range(2000)])
    text = _CountingText(body)
    text.searches = []
    occurrences = _Occurrences(text, body.lower())
    assert occurrences.of("AKIA") == []
    assert occurrences.of("GOCSPX-") == []
    assert text.searches == []
    assert occurrences.of("item") != []  # a literal whose characters are all there is searched
    assert "item" in text.searches
    # Lower-case JSON with a real key in it: the key is still found.
    key = "AKIA" + "Z2XCV3BNM4QWE5RT"
    assert [h.type.id for h in find_secrets(body[:-1] + f', "{key}"]', where="body")] == [
        "aws-access-key-id"
    ]


def test_a_rare_character_locates_a_literal_without_a_search_of_it():
    """In a long text where ``_`` occurs twice, ``npm_`` is compared at those two places, not
    searched for; every occurrence is still found, also at the very start and end."""
    from keywire.secrets.scanner import _Occurrences

    body = "npm_" + json.dumps([{"id": n, "name": f"item {n}"} for n in range(2000)]) + " npm_"
    assert body.count("_") == 2
    text = _CountingText(body)
    text.searches = []
    occurrences = _Occurrences(text, body.lower())
    assert occurrences.of("npm_") == [0, len(body) - 4]
    assert occurrences.of("m_") == [2, len(body) - 2]
    assert occurrences.of("tem") == [m.start() for m in re.finditer("tem", body)]
    assert "npm_" not in text.searches and "m_" not in text.searches
    assert "tem" in text.searches  # every character of it is frequent: searched for
    token = "npm_" + "Zq8vL2nR7xK4mW9pB3cT6yH1jD5fG0sA2eQu"
    found = find_secrets(body[:-6] + f'"{token}"', where="body")
    assert [h.type.id for h in found] == ["npm-token"]


def _heads(items, heads):
    """The literal starts of a parsed regex (each with whether it may go on): literals, small
    character sets and alternatives are expanded; anything else ends a start."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_constants as c
    for op, av in items:
        out = []
        for text, more in heads:
            if not more:
                out.append((text, False))
            elif op is c.LITERAL:
                out.append((text + chr(av), True))
            elif op is c.IN and all(o is c.LITERAL for o, _ in av):
                out.extend((text + chr(code), True) for _, code in av)
            elif op is c.SUBPATTERN:
                out.extend(_heads(av[3], [(text, True)]))
            elif op is c.BRANCH:
                for alternative in av[1]:
                    out.extend(_heads(alternative, [(text, True)]))
            else:
                out.append((text, False))
        heads = out
    return heads


def test_each_spelled_out_prefix_covers_every_match_of_its_entries():
    """A short prefix in SPELLED is located in long texts by its spelled-out forms only: every
    match of each entry with that prefix (its ``secret`` group, from the parsed pattern) must
    start with one of them, and no entry uses the short literal as an anchor."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse as parser
    from keywire.secrets.scanner import SPELLED

    checked = set()
    for entry in CATALOGUE:
        assert not set(entry.anchors) & set(SPELLED), entry.id
        for prefix in set(entry.prefixes) & set(SPELLED):
            assert all(form.startswith(prefix) for form in SPELLED[prefix])
            group = entry.pattern.compiled.groupindex["secret"]
            parsed = parser.parse(entry.pattern.pattern, entry.pattern.flags)
            (secret,) = [av[3] for op, av in parsed if op is parser.SUBPATTERN and av[0] == group]
            heads = _heads(secret, [("", True)])
            assert heads, entry.id
            for text, _more in heads:
                assert text.startswith(SPELLED[prefix]), (entry.id, text)
            checked.add(prefix)
    assert checked == set(SPELLED)


_CASES = [v for vs in POSITIVES.values() for v in vs] + [
    v for vs in NEAR_MISSES.values() for v in vs
]
# The only literal in it is an anchor sought in lower case ("aws"), written in upper case.
_CASES.append('AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Lp3Xk2M"')


# Every character of every literal, many times over: no literal can be located by a rare one.
_DENSE = " ".join(sorted({c for t in CATALOGUE for lit in t.prefixes + t.anchors for c in lit}))


@pytest.mark.parametrize(
    ("padding", "filler"),
    [(0, "x"), (600, "x"), (20_000, "x"), (20_000, _DENSE)],
    ids=["short", "long", "rare-characters", "frequent-characters"],
)
def test_the_literal_shortcuts_find_what_a_plain_pass_finds(padding, filler):
    """A text in which no literal occurs skips every entry that needs one, a short text
    (a header) is searched without the per-character bookkeeping, and a long one locates a
    literal by its rarest character where one is rare: none changes a result.
    The catalogue as a list takes no shortcut."""
    pad = (filler * (padding // len(filler) + 1))[:padding]
    for text in [*_CASES, " ".join(_CASES)]:
        for framed in (text, f"Server: {text}", f'{{"{pad}": "{text}"}}', f"{pad}{text}{pad}"):
            fast = [(h.type.id, str(h.redacted)) for h in find_secrets(framed, where="body")]
            plain = find_secrets(framed, where="body", catalogue=list(CATALOGUE))
            assert fast == [(h.type.id, str(h.redacted)) for h in plain], framed[:80]


def test_url_credentials_need_an_at_sign():
    """The entry's keyword: a text without "@" is not searched at each "://" (its pattern needs
    one), and a password in a URL is still found."""
    (entry,) = [t for t in CATALOGUE if t.id == "url-credentials"]
    assert entry.keyword == "@" and "@" in entry.pattern.pattern
    found = find_secrets("postgres://app:" + "Zq8vL2nR7xK4mW9p" + "@db.internal/x", where="body")
    assert [h.type.id for h in found] == ["url-credentials"]
