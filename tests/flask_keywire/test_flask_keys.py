"""Key format, generation, hashing and the constant-time comparison."""

from __future__ import annotations

import hmac
import math
import re
import zlib

import pytest

from flask_keywire import MalformedKey, generate_key, looks_like_key, parse_key
from flask_keywire._keys import (
    CHECKSUM_LENGTH,
    ID_LENGTH,
    SECRET_LENGTH,
    digest_key,
    match_digest,
)
from keywire.secrets.catalogue import BASE62, base62_encode

HTTPS = "https://localhost"
PEPPER = b"p" * 32


def test_format_and_lengths():
    key = generate_key("kw_live")
    assert re.fullmatch(r"kw_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}", key.plaintext)
    body = key.plaintext[:-CHECKSUM_LENGTH]
    assert key.plaintext[-CHECKSUM_LENGTH:] == base62_encode(zlib.crc32(body.encode()), 6)
    parsed = parse_key(key.plaintext)
    assert (parsed.prefix, parsed.key_id) == ("kw_live", key.key_id)
    assert key.plaintext not in repr(key) and key.plaintext not in repr(parsed)


def test_secret_carries_at_least_256_bits():
    assert SECRET_LENGTH * math.log2(62) >= 256
    assert 62**SECRET_LENGTH > 2**256 - 1


def test_keys_are_random_and_use_the_whole_alphabet():
    keys = [generate_key("kw_test") for _ in range(300)]
    assert len({k.plaintext for k in keys}) == len({k.key_id for k in keys}) == 300
    secrets_text = "".join(k.plaintext.split("_")[-1][:-CHECKSUM_LENGTH] for k in keys)
    assert set(secrets_text) == set(BASE62)
    ids = "".join(k.key_id for k in keys)
    assert len(ids) == 300 * ID_LENGTH


@pytest.mark.parametrize("prefix", ["kw_live", "kw_test", "acme", "acme_prod_eu_2"])
def test_prefixes(prefix):
    key = generate_key(prefix)
    assert parse_key(key.plaintext).prefix == prefix


@pytest.mark.parametrize(
    "prefix", ["", "KW_live", "kw-live", "kw__live", "_kw", "kw_", "a_b_c_d_e"]
)
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        generate_key(prefix)


def _flip(text: str, index: int) -> str:
    char = text[index]
    return text[:index] + ("A" if char != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: _flip(k, -1),  # checksum
        lambda k: _flip(k, -10),  # secret
        lambda k: _flip(k, 9),  # id
        lambda k: k[:-1],  # short
        lambda k: k + "a",  # long
        lambda k: k.replace("_", "-"),
        lambda k: k.upper(),
        lambda k: "",
        lambda k: "Bearer " + k,
    ],
)
def test_near_misses_are_malformed(mutate):
    key = generate_key("kw_live").plaintext
    bad = mutate(key)
    with pytest.raises(MalformedKey):
        parse_key(bad)
    assert not looks_like_key(bad)


def test_digest_is_hmac_sha256_with_the_pepper():
    key = generate_key().plaintext
    digest = digest_key(key, PEPPER)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest != digest_key(key, b"q" * 32)
    assert key not in digest


def test_match_digest_reports_which_pepper_matched():
    key = generate_key().plaintext
    stored = digest_key(key, b"old" * 11)
    match = match_digest(key, stored, [PEPPER, b"old" * 11])
    assert match.matched and match.pepper_index == 1
    assert not match_digest(key, stored, [PEPPER]).matched
    assert not match_digest(key, None, [PEPPER]).matched


@pytest.fixture
def compare_calls(monkeypatch):
    """Wrap hmac.compare_digest to record every call (the real comparison still runs)."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_compare_runs_for_known_unknown_and_malformed_keys(compare_calls, app, new_key, https):
    """The same work whatever the key: one HMAC and one compare_digest per pepper."""
    key, _ = new_key()
    unknown_id = generate_key("kw_live").plaintext  # well-formed, id not in the store
    wrong_secret = key[: -CHECKSUM_LENGTH - 5] + "AAAAA"
    wrong_secret = wrong_secret + base62_encode(zlib.crc32(wrong_secret.encode()), 6)
    cases = {
        "valid": key,
        "unknown-id": unknown_id,
        "wrong-secret": wrong_secret,
        "malformed": "not-a-key",
    }
    counts = {}
    for name, value in cases.items():
        before = len(compare_calls)
        https.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": value})
        made = compare_calls[before:]
        counts[name] = len(made)
        assert all(a == b == 64 for a, b in made), name
    assert counts == {"valid": 1, "unknown-id": 1, "wrong-secret": 1, "malformed": 1}


def test_compare_runs_once_per_pepper_for_unknown_ids_too(compare_calls, app, https):
    app.config["KEYWIRE_PEPPER_FALLBACKS"] = ["f" * 40, "g" * 40]
    unknown = generate_key("kw_live").plaintext
    https.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": unknown})
    assert len(compare_calls) == 3


def test_compare_runs_for_keys_seen_over_cleartext(compare_calls, app, new_key):
    """Over cleartext every checksum-valid key of a known id is checked (to revoke it); a string
    whose checksum is wrong is not a key, which anyone can compute, so it costs nothing."""
    key, _ = new_key()
    client = app.test_client()
    client.get("/v1/resource", headers={"X-API-Key": "kw_live_AAAAAAAAAAAA_" + "B" * 49})
    assert compare_calls == []
    client.get("/v1/resource", headers={"X-API-Key": key})
    assert len(compare_calls) == 1


def test_scope_names_are_validated(app, keywire):
    """Issue 11 item 5: ``["read admin"]`` was stored as {read, admin} and opened admin
    endpoints; a plain string became a set of letters. Both are refused now."""

    @app.get("/admin")
    @keywire.required(scopes=["admin"])
    def admin():
        return {"admin": True}

    with app.app_context():
        for bad in (["read admin"], ["read,admin"], ["read\tadmin"], [""], ["-x"], ["ok", 3]):
            with pytest.raises(ValueError, match="scope"):
                keywire.create_key("c", scopes=bad)
        with pytest.raises(TypeError, match="not a single string"):
            keywire.create_key("c", scopes="admin")
        key, record = keywire.create_key("c", scopes=["read", "users:write", "v1.export-all"])
    assert record.scopes == {"read", "users:write", "v1.export-all"}
    client = app.test_client()
    assert (
        client.get("/admin", base_url="https://localhost", headers={"X-API-Key": key}).status_code
        == 403
    )
    with pytest.raises(TypeError, match="not a single string"):
        keywire.required(scopes="admin")
    with app.app_context(), pytest.raises(TypeError):
        keywire.authenticate(key, scopes="read")


def test_default_scopes_must_be_a_list_of_names(make_app):
    from flask_keywire import ConfigurationError

    with pytest.raises(ConfigurationError, match="KEYWIRE_DEFAULT_SCOPES"):
        make_app(protect_all=True, default_scopes="read")
    with pytest.raises(ConfigurationError, match="scope"):
        make_app(protect_all=True, default_scopes=["read write"])
