"""The KeyStore contract, run against SQLite and SQLAlchemy on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from flask_keywire import (
    KeyRecord,
    KeyStore,
    ReadOnlyStoreError,
    SQLAlchemyKeyStore,
    SQLiteKeyStore,
    StaticKeyStore,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
HTTPS = "https://localhost"


def record(key_id="AAAAAAAAAAA1", **kwargs) -> KeyRecord:
    fields = {
        "id": key_id,
        "name": "client",
        "prefix": "kw_live",
        "digest": "d" * 64,
        "scopes": frozenset({"read", "write"}),
        "created_at": T0,
    }
    fields.update(kwargs)
    return KeyRecord(**fields)


@pytest.fixture(params=["sqlite", "sqlalchemy"])
def store_factory(request, tmp_path):
    """Make stores on one database file, so a second instance sees what the first wrote."""
    path = tmp_path / "sub" / "keys.db"
    made: list[KeyStore] = []

    def make(**sqlite_options: float) -> KeyStore:
        if request.param == "sqlite":
            store = SQLiteKeyStore(path, **sqlite_options)
        else:
            path.parent.mkdir(exist_ok=True)
            store = SQLAlchemyKeyStore(f"sqlite:///{path}")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_add_get_list_roundtrip(store_factory):
    store = store_factory()
    assert store.get("AAAAAAAAAAA1") is None
    assert store.list_keys() == []
    first = record(expires_at=T0 + timedelta(days=90))
    second = record("AAAAAAAAAAA2", created_at=T0 + timedelta(seconds=1), scopes=frozenset())
    store.add(first)
    store.add(second)
    assert store.get(first.id) == first
    assert store_factory().list_keys() == [first, second]  # another instance, same file
    with pytest.raises(ValueError, match="exists"):
        store.add(first)


def test_revoke_once(store_factory):
    store = store_factory()
    store.add(record())
    assert store.revoke("AAAAAAAAAAA1", at=T0, reason="cleartext") is True
    assert store.revoke("AAAAAAAAAAA1", at=T0 + timedelta(1), reason="manual") is False
    assert store.revoke("nosuchkey000", at=T0, reason="manual") is False
    got = store.get("AAAAAAAAAAA1")
    assert (got.revoked_at, got.revoked_reason) == (T0, "cleartext")


def test_retire_shortens_but_never_extends(store_factory):
    store = store_factory()
    store.add(record())
    store.add(record("AAAAAAAAAAA2", expires_at=T0 + timedelta(days=1)))
    store.retire("AAAAAAAAAAA1", expires_at=T0 + timedelta(days=7), replaced_by="NEWNEWNEWNEW")
    store.retire("AAAAAAAAAAA2", expires_at=T0 + timedelta(days=7), replaced_by="NEWNEWNEWNE2")
    one, two = store.get("AAAAAAAAAAA1"), store.get("AAAAAAAAAAA2")
    assert (one.expires_at, one.replaced_by) == (T0 + timedelta(days=7), "NEWNEWNEWNEW")
    assert (two.expires_at, two.replaced_by) == (T0 + timedelta(days=1), "NEWNEWNEWNE2")


def test_touch_respects_resolution(store_factory):
    store = store_factory()
    store.add(record())
    store.touch("AAAAAAAAAAA1", at=T0)
    store.touch("AAAAAAAAAAA1", at=T0 + timedelta(seconds=59), resolution_s=60)
    assert store.get("AAAAAAAAAAA1").last_used_at == T0
    store.touch("AAAAAAAAAAA1", at=T0 + timedelta(seconds=60), resolution_s=60)
    assert store.get("AAAAAAAAAAA1").last_used_at == T0 + timedelta(seconds=60)


def test_set_digest(store_factory):
    store = store_factory()
    store.add(record())
    store.set_digest("AAAAAAAAAAA1", "e" * 64)
    assert store.get("AAAAAAAAAAA1").digest == "e" * 64


def test_naive_datetimes_are_refused(store_factory):
    with pytest.raises(ValueError, match="timezone-aware"):
        store_factory().add(record(created_at=datetime(2030, 1, 1)))


def test_concurrent_use_from_threads(store_factory):
    # Every write must land, so last-use writes may wait as long as other writes do (their
    # 0.5 s default, right for requests, is tested elsewhere; it failed here on a loaded machine).
    store = store_factory(touch_timeout=5.0)
    for i in range(8):
        store.add(record(f"THREAD{i:06d}"))
    errors = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                store.touch(f"THREAD{i:06d}", at=T0 + timedelta(minutes=j), resolution_s=0)
                assert store.get(f"THREAD{i:06d}") is not None
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert all(r.last_used_at == T0 + timedelta(minutes=9) for r in store.list_keys())


def test_digests_only_in_the_database(tmp_path, make_app):
    """What lands on disk is the HMAC digest, never the key."""
    app, keywire = make_app(store=SQLiteKeyStore(tmp_path / "disk.db"))
    with app.app_context():
        key, record_ = keywire.create_key("c", scopes=["read"])
    raw = (tmp_path / "disk.db").read_bytes()
    assert key.encode() not in raw
    assert key.rsplit("_", 1)[1].encode() not in raw
    with sqlite3.connect(tmp_path / "disk.db") as conn:
        (digest,) = conn.execute("SELECT digest FROM keywire_keys").fetchone()
    assert digest == record_.digest


@pytest.mark.parametrize(
    ("url", "kind"),
    [("sqlite:///{path}", SQLiteKeyStore), ("sqlite+pysqlite:///{path}", SQLAlchemyKeyStore)],
)
def test_store_from_database_url(make_app, tmp_path, url, kind):
    app, keywire = make_app(store=None)
    app.config["KEYWIRE_STORE"] = url.format(path=tmp_path / "url.db")
    with app.app_context():
        assert isinstance(keywire.store, kind)
        key, _ = keywire.create_key("c", scopes=["read"])
    response = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert (tmp_path / "url.db").is_file()
    with app.app_context():
        keywire.store.close()


def test_default_store_is_sqlite_in_the_instance_folder(tmp_path, clock):
    from flask import Flask

    from flask_keywire import KeyWire

    app = Flask("kw_default", instance_path=str(tmp_path / "instance"))
    app.config["KEYWIRE_PEPPER"] = "p" * 40
    keywire = KeyWire(app, clock=clock)
    with app.app_context():
        store = keywire.store
        assert isinstance(store, SQLiteKeyStore)
        keywire.create_key("c")
        assert keywire.store is store
    assert (tmp_path / "instance" / "keywire.sqlite3").is_file()


@pytest.mark.parametrize("value", ["sqlite:///:memory:", "sqlite:///", "not a url", 42])
def test_unusable_store_setting_is_explained(make_app, value):
    app, keywire = make_app(store=None)
    app.config["KEYWIRE_STORE"] = value
    with app.app_context(), pytest.raises(RuntimeError, match="KEYWIRE_STORE"):
        keywire.store  # noqa: B018


def test_static_store_parsing():
    line = "AAAAAAAAAAA1:" + "a" * 64 + ":read,write\nAAAAAAAAAAA2:" + "b" * 64
    store = StaticKeyStore(line, prefix="kw_test")
    assert store.read_only
    one = store.get("AAAAAAAAAAA1")
    assert one.scopes == {"read", "write"} and one.prefix == "kw_test"
    assert store.get("AAAAAAAAAAA2").scopes == frozenset()
    assert [r.id for r in store.list_keys()] == ["AAAAAAAAAAA1", "AAAAAAAAAAA2"]
    assert StaticKeyStore(["AAAAAAAAAAA1:" + "a" * 64]).get("AAAAAAAAAAA1") is not None
    for call in (
        lambda: store.add(record()),
        lambda: store.revoke("AAAAAAAAAAA1", at=T0, reason="x"),
        lambda: store.retire("AAAAAAAAAAA1", expires_at=T0, replaced_by="x"),
    ):
        with pytest.raises(ReadOnlyStoreError):
            call()
    store.touch("AAAAAAAAAAA1", at=T0)
    store.set_digest("AAAAAAAAAAA1", "c" * 64)
    assert store.get("AAAAAAAAAAA1").digest == "a" * 64


@pytest.mark.parametrize(
    "bad",
    [
        "kw_live_AAAAAAAAAAAA_" + "B" * 49,  # a raw key is refused: only digests belong here
        "AAAAAAAAAAA1:" + "a" * 63,
        "AAAAAAAAAAA1",
        "AAAAAAAAAAA1:" + "A" * 64,
    ],
)
def test_static_store_refuses_anything_but_digests(bad):
    with pytest.raises(ValueError, match="never the key"):
        StaticKeyStore(bad)


def test_static_store_from_env():
    env = {"KEYWIRE_API_KEY_HASH": "AAAAAAAAAAA1:" + "a" * 64}
    assert StaticKeyStore.from_env(environ=env).get("AAAAAAAAAAA1") is not None
    assert StaticKeyStore.from_env(environ={}).list_keys() == []
