"""Scopes, expiry, revocation, rotation with an overlap window, pepper rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flask_keywire import KeyRecord, ReadOnlyStoreError

HTTPS = "https://localhost"


def call(client, key, method="get"):
    return getattr(client, method)("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})


def test_scopes_are_enforced(https, new_key):
    reader, _ = new_key("reader", scopes=["read"])
    writer, _ = new_key("writer", scopes=["read", "write"])
    assert call(https, reader).status_code == 200
    refused = call(https, reader, "post")
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "insufficient_scope",
        "message": "The API key does not have the scopes this endpoint requires.",
        "required_scopes": ["write"],
    }
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="write"'
    )
    assert call(https, writer, "post").status_code == 200


def test_key_without_scopes_passes_only_unscoped_endpoints(app, keywire, https):
    @app.get("/any")
    @keywire.required
    def any_key():
        return {"ok": True}

    with app.app_context():
        key, record = keywire.create_key("bare", scopes=[])
    assert record.scopes == frozenset()
    assert https.get("/any", base_url=HTTPS, headers={"X-API-Key": key}).status_code == 200
    assert call(https, key).status_code == 403


def test_expiry(https, new_key, clock):
    key, record = new_key(expires_in=timedelta(days=90))
    assert record.expires_at == clock.now + timedelta(days=90)
    assert call(https, key).status_code == 200
    clock.advance(days=89, hours=23)
    assert call(https, key).status_code == 200
    clock.advance(hours=1)
    expired = call(https, key)
    assert expired.status_code == 401
    assert expired.get_json()["error"] == "invalid_token"


def test_manual_revocation(app, keywire, https, new_key):
    key, record = new_key()
    with app.app_context():
        assert keywire.revoke_key(record.id) is True
        assert keywire.revoke_key(record.id) is False
        assert keywire.revoke_key("unknownid000") is False
        stored = keywire.store.get(record.id)
    assert stored.revoked_reason == "manual"
    response = call(https, key)
    assert response.status_code == 401
    assert "cleartext" not in response.get_json()["message"]


def test_last_used_is_recorded_at_most_once_per_resolution(app, keywire, https, new_key, clock):
    key, record = new_key()
    assert record.last_used_at is None
    call(https, key)
    with app.app_context():
        first = keywire.store.get(record.id).last_used_at
    assert first == clock.now
    clock.advance(seconds=30)
    call(https, key)
    with app.app_context():
        assert keywire.store.get(record.id).last_used_at == first
    clock.advance(seconds=31)
    call(https, key)
    with app.app_context():
        assert keywire.store.get(record.id).last_used_at == clock.now


def test_rotation_overlap(app, keywire, https, new_key, clock):
    old_key, old = new_key(scopes=["read", "write"], expires_in=timedelta(days=90))
    clock.advance(days=10)
    with app.app_context():
        new_plain, new = keywire.rotate_key(old.id, overlap=timedelta(days=7))
        retired = keywire.store.get(old.id)
    assert new.name == old.name and new.scopes == old.scopes and new.prefix == old.prefix
    assert new.expires_at == clock.now + timedelta(days=90)  # the old key's lifetime
    assert retired.replaced_by == new.id
    assert retired.expires_at == clock.now + timedelta(days=7)
    # During the overlap both keys work, like SECRET_KEY_FALLBACKS.
    assert call(https, old_key).status_code == 200
    assert call(https, new_plain).status_code == 200
    clock.advance(days=6, hours=23)
    assert call(https, old_key).status_code == 200
    clock.advance(hours=1)
    assert call(https, old_key).status_code == 401
    assert call(https, new_plain).status_code == 200


def test_rotation_never_extends_an_expiring_key(app, keywire, new_key, clock):
    _, old = new_key(expires_in=timedelta(days=2))
    with app.app_context():
        keywire.rotate_key(old.id, overlap=timedelta(days=7))
        assert keywire.store.get(old.id).expires_at == old.expires_at


def test_rotation_with_zero_overlap_ends_the_old_key_now(app, keywire, https, new_key):
    old_key, old = new_key()
    with app.app_context():
        new_plain, _ = keywire.rotate_key(old.id, overlap=timedelta(0))
    assert call(https, old_key).status_code == 401
    assert call(https, new_plain).status_code == 200


def test_rotation_refuses_unknown_revoked_and_negative(app, keywire, new_key):
    _, record = new_key()
    with app.app_context():
        with pytest.raises(KeyError):
            keywire.rotate_key("unknownid000", overlap=timedelta(days=1))
        with pytest.raises(ValueError, match="negative"):
            keywire.rotate_key(record.id, overlap=timedelta(days=-1))
        keywire.revoke_key(record.id)
        with pytest.raises(ValueError, match="revoked"):
            keywire.rotate_key(record.id, overlap=timedelta(days=1))


def test_create_key_validates_its_input(app, keywire):
    with app.app_context():
        with pytest.raises(ValueError, match="name"):
            keywire.create_key("  ")
        with pytest.raises(ValueError, match="future"):
            keywire.create_key("x", expires_in=timedelta(0))
        with pytest.raises(ValueError, match="prefix"):
            keywire.create_key("x", prefix="Live-Key")
        key, record = keywire.create_key("x", prefix="kw_test")
    assert key.startswith("kw_test_") and record.prefix == "kw_test"


def test_pepper_rotation_with_fallbacks_rehashes(make_app, clock):
    old_pepper = "old-pepper-0123456789-abcdefghijklmnopqrstuvwxyz"
    app, keywire = make_app(pepper=old_pepper)
    with app.app_context():
        key, record = keywire.create_key("c", scopes=["read"])
    client = app.test_client()
    app.config["KEYWIRE_PEPPER"] = "new-pepper-0123456789-abcdefghijklmnopqrstuvwxyz"
    assert call(client, key).status_code == 401  # the old digest no longer matches
    app.config["KEYWIRE_PEPPER_FALLBACKS"] = [old_pepper]
    assert call(client, key).status_code == 200
    with app.app_context():
        upgraded = keywire.store.get(record.id).digest
    assert upgraded != record.digest
    app.config["KEYWIRE_PEPPER_FALLBACKS"] = []
    assert call(client, key).status_code == 200  # re-hashed with the new pepper


def test_static_store_from_config(make_app, tmp_path):
    issuer, issuing = make_app()
    with issuer.app_context():
        key, record = issuing.issue_key("seed", scopes=["read"])
        assert issuing.store.get(record.id) is None  # issue_key does not store
    from flask_keywire import hash_line

    line = hash_line(record)
    assert key not in line and record.digest in line
    app, keywire = make_app(store=None, api_key_hash=line)
    client = app.test_client()
    assert call(client, key).status_code == 200
    with app.app_context():
        assert keywire.store.read_only
        with pytest.raises(ReadOnlyStoreError):
            keywire.create_key("x")
        with pytest.raises(ReadOnlyStoreError):
            keywire.rotate_key(record.id, overlap=timedelta(days=1))


def test_static_store_key_seen_over_cleartext_is_refused_by_every_process(make_app, caplog):
    issuer, issuing = make_app()
    with issuer.app_context():
        key, record = issuing.issue_key("seed", scopes=["read"])
    from flask_keywire import hash_line

    app, _ = make_app(store=None, api_key_hash=hash_line(record))
    client = app.test_client()
    assert client.get("/v1/resource", headers={"X-API-Key": key}).status_code == 403
    assert "KEYWIRE_API_KEY_HASH" in caplog.text and record.id in caplog.text
    assert key not in caplog.text
    refused = call(client, key)
    assert refused.status_code == 401
    assert "cleartext" in refused.get_json()["message"]
    # Another worker (or the same app after a restart) on the same instance folder refuses it
    # too: the journal is the lasting record, until the key's line is removed.
    other, _ = make_app(store=None, api_key_hash=hash_line(record))
    assert call(other.test_client(), key).status_code == 401


def test_record_status():
    from datetime import datetime, timezone

    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    record = KeyRecord(id="a" * 12, name="n", prefix="kw_live", digest="0" * 64)
    assert record.status(now) == "active"
    assert (
        KeyRecord(id="a" * 12, name="n", prefix="kw_live", digest="0" * 64, expires_at=now).status(
            now
        )
        == "expired"
    )
    assert (
        KeyRecord(id="a" * 12, name="n", prefix="kw_live", digest="0" * 64, revoked_at=now).status(
            now
        )
        == "revoked"
    )
    assert "0" * 64 not in repr(record)
