"""Fixtures for flask_keywire: an app factory on a real SQLite file, a movable clock, clients."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask

from flask_keywire import KeyWire, SQLiteKeyStore

PEPPER = "test-pepper-0123456789-abcdefghijklmnopqrstuvwxyz"
HTTPS = "https://localhost"


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(tmp_path, clock):
    """Build a Flask app with KeyWire on a SQLite file in tmp_path; keyword args become config."""

    def make(*, store="sqlite-file", **config) -> tuple[Flask, KeyWire]:
        """``store``: a KeyStore, None (use the config), or the default SQLite file."""
        app = Flask("kw_test", instance_path=str(tmp_path / "instance"))
        app.config.update(TESTING=True, KEYWIRE_PEPPER=PEPPER)
        app.config.update({f"KEYWIRE_{k.upper()}": v for k, v in config.items()})
        if store == "sqlite-file":
            store = SQLiteKeyStore(tmp_path / "keys.sqlite3")
        keywire = KeyWire(app, store=store, clock=clock)

        @app.get("/v1/resource")
        @keywire.required(scopes=["read"])
        def resource():
            return {"data": "sensitive resource"}

        @app.post("/v1/resource")
        @keywire.required(scopes=["write"])
        def write_resource():
            return {"written": True}

        @app.get("/public")
        def public():
            return {"public": True}

        return app, keywire

    return make


@pytest.fixture
def app_and_keywire(make_app):
    return make_app()


@pytest.fixture
def app(app_and_keywire):
    return app_and_keywire[0]


@pytest.fixture
def keywire(app_and_keywire):
    return app_and_keywire[1]


@pytest.fixture
def new_key(app, keywire):
    """Create a key in the app's store: new_key(name, scopes=..., expires_in=...) -> (key, record)."""

    def create(name: str = "client-a", **kwargs):
        kwargs.setdefault("scopes", ["read"])
        with app.app_context():
            return keywire.create_key(name, **kwargs)

    return create


@pytest.fixture
def https(app):
    return app.test_client()
