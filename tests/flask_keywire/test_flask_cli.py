"""``flask keywire create|list|revoke|rotate`` through Flask's CLI runner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flask_keywire import looks_like_key, parse_key
from flask_keywire._cli import parse_duration

HTTPS = "https://localhost"


def run(app, *args):
    return app.test_cli_runner().invoke(args=["keywire", *args])


def test_create_prints_the_key_once_on_stdout(app, keywire, clock):
    result = run(app, "create", "--name", "billing", "--scopes", "read,write", "--expires", "90d")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert looks_like_key(key) and key.startswith("kw_live_")
    assert key not in result.stderr
    assert "shown only this once" in result.stderr
    key_id = parse_key(key).key_id
    with app.app_context():
        record = keywire.store.get(key_id)
    assert record.name == "billing" and record.scopes == {"read", "write"}
    assert record.expires_at == clock.now + timedelta(days=90)
    response = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.status_code == 200


def test_create_with_prefix_and_bad_input(app):
    result = run(app, "create", "--name", "ci", "--prefix", "kw_test")
    assert result.exit_code == 0 and result.stdout.startswith("kw_test_")
    assert run(app, "create", "--name", "x", "--expires", "soon").exit_code == 2
    assert run(app, "create", "--name", "x", "--prefix", "Bad-Prefix").exit_code == 2
    assert run(app, "create").exit_code == 2  # --name is required


def test_list_shows_keys_without_secrets(app):
    key = run(app, "create", "--name", "reader", "--scopes", "read").stdout.strip()
    other = run(app, "create", "--name", "gone").stdout.strip()
    assert run(app, "revoke", parse_key(other).key_id).exit_code == 0
    result = run(app, "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "SCOPES", "STATUS"]
    assert parse_key(key).key_id in result.stdout and "reader" in result.stdout
    assert "revoked (manual)" in result.stdout
    assert key not in result.output and key.rsplit("_", 1)[1] not in result.output


def test_revoke(app, keywire):
    key = run(app, "create", "--name", "c", "--scopes", "read").stdout.strip()
    key_id = parse_key(key).key_id
    result = run(app, "revoke", key_id)
    assert result.exit_code == 0 and f"Revoked key {key_id}" in result.stderr
    again = run(app, "revoke", key_id)
    assert again.exit_code == 1 and "already revoked" in again.stderr
    response = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.status_code == 401


def test_rotate_with_overlap(app, keywire, clock):
    old = run(app, "create", "--name", "c", "--scopes", "read").stdout.strip()
    result = run(app, "rotate", parse_key(old).key_id, "--overlap", "7d")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip()
    assert looks_like_key(new) and new != old
    assert "keeps working until" in result.stderr
    client = app.test_client()
    for key in (old, new):
        assert (
            client.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key}).status_code
            == 200
        )
    assert "rotating to" in run(app, "list").stdout
    clock.advance(days=7)
    assert client.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": old}).status_code == 401
    assert client.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": new}).status_code == 200


def test_rotate_errors(app):
    assert run(app, "rotate", "unknownid000").exit_code == 1
    key = run(app, "create", "--name", "c").stdout.strip()
    run(app, "revoke", parse_key(key).key_id)
    result = run(app, "rotate", parse_key(key).key_id)
    assert result.exit_code == 1 and "revoked" in result.stderr


def test_create_with_a_read_only_store_prints_the_hash_line(make_app):
    app, _ = make_app(store=None, api_key_hash="AAAAAAAAAAA1:" + "a" * 64)
    result = run(app, "create", "--name", "seed", "--scopes", "read", "--expires", "30d")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert looks_like_key(key)
    assert "KEYWIRE_API_KEY_HASH" in result.stderr and key not in result.stderr
    line = result.stderr.split("\n")[1]
    assert line.startswith(parse_key(key).key_id + ":") and line.endswith(":read")
    assert "do not expire" in result.stderr
    assert run(app, "revoke", "AAAAAAAAAAA1").exit_code == 1


def test_create_hash_only_stores_nothing_and_the_line_works(make_app, app, keywire):
    result = run(app, "create", "--name", "seed", "--scopes", "read", "--hash-only")
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert "Not stored" in result.stderr and key not in result.stderr
    with app.app_context():
        assert keywire.list_keys() == []
    line = result.stderr.strip().splitlines()[-1]
    configured, _ = make_app(store=None, api_key_hash=line)
    response = configured.test_client().get(
        "/v1/resource", base_url=HTTPS, headers={"X-API-Key": key}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("1w2d", timedelta(days=9)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("0", timedelta(0)),
        ("never", None),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "d", "90", "9x", "1d junk", "-1d"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
