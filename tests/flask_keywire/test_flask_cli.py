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


# -- issue 11: names, durations, defaults, fail-fast ------------------------------------------

HOSTILE = "evil\x1b[2J\x1b]0;pwned\x07\r\nfake line\u202e"


def test_create_refuses_names_with_control_characters(app, keywire):
    """Item 8: a name with escape sequences is refused, and the refusal shows it escaped."""
    result = run(app, "create", "--name", HOSTILE)
    assert result.exit_code == 2
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b[2J" in result.output
    with app.app_context():
        for name in (HOSTILE, "a\nb", "tab\there", "rtl\u202eoverride", "x" * 101, "  "):
            with pytest.raises(ValueError, match="name"):
                keywire.create_key(name)
        assert keywire.list_keys() == []
        _, record = keywire.create_key("  Billing — Zürich 2  ")
    assert record.name == "Billing — Zürich 2"


def test_list_renders_hostile_stored_text_visibly(app, keywire, tmp_path):
    """Item 8: a record written by hand (or by an older version) with control characters in
    its name and scopes is listed with the characters escaped, never raw."""
    import sqlite3

    with app.app_context():
        keywire.create_key("placeholder", scopes=["read"])
        path = keywire.store.path
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE keywire_keys SET name = ?, scopes = ?", (HOSTILE, "read \x1b[31mred"))
    result = run(app, "list")
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\x07", "\r", "\u202e"):
        assert raw not in result.output
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x0afake line\\u202e" in result.stdout
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--name", "c", "--expires", "3000000d"], "too long"),
        (["create", "--name", "c", "--expires", "99999999999999999999999d"], "duration"),
        (["create", "--name", "c", "--expires", "3651d"], "too long"),
    ],
)
def test_durations_are_validated_with_a_clear_error(app, args, message):
    """Item 10: an expiry past datetime's range ended in an OverflowError traceback."""
    result = run(app, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_overlap_never_is_refused_and_the_old_key_lives(app, keywire):
    """Item 10: ``rotate --overlap never`` meant zero overlap and killed the old key at once.
    "never" is refused for an overlap (it would not be a rotation); the old key keeps working."""
    key = run(app, "create", "--name", "c", "--scopes", "read").stdout.strip()
    result = run(app, "rotate", parse_key(key).key_id, "--overlap", "never")
    assert result.exit_code == 2
    assert "not a rotation" in result.output
    response = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.status_code == 200
    with app.app_context():
        assert len(keywire.list_keys()) == 1
        with pytest.raises(TypeError, match="not a rotation"):
            keywire.rotate_key(parse_key(key).key_id, overlap=None)
        with pytest.raises(ValueError, match="too long"):
            keywire.create_key("c", expires_in=timedelta(days=3_000_000))


def test_new_keys_expire_in_90_days_unless_told_otherwise(make_app, clock):
    """Item 11: ``create`` defaulted to never. The default is KEYWIRE_KEY_LIFETIME (90 days);
    ``--expires never`` (or ``expires_in=None``) opts out."""
    app, keywire = make_app()
    key = run(app, "create", "--name", "default").stdout.strip()
    never = run(app, "create", "--name", "forever", "--expires", "never")
    assert never.exit_code == 0 and "never" in never.stderr
    with app.app_context():
        assert keywire.store.get(parse_key(key).key_id).expires_at == clock.now + timedelta(days=90)
        assert keywire.store.get(parse_key(never.stdout.strip()).key_id).expires_at is None
        _, api_default = keywire.create_key("api")
        _, api_never = keywire.create_key("api-never", expires_in=None)
    assert api_default.expires_at == clock.now + timedelta(days=90)
    assert api_never.expires_at is None
    short, short_kw = make_app(key_lifetime=timedelta(days=7))
    with short.app_context():
        assert short_kw.create_key("s")[1].expires_at == clock.now + timedelta(days=7)
    rotated = run(app, "rotate", parse_key(key).key_id, "--expires", "never")
    assert rotated.exit_code == 0, rotated.output
    with app.app_context():
        assert keywire.store.get(parse_key(rotated.stdout.strip()).key_id).expires_at is None


QUICK_APP = """
import os

from flask import Flask
from flask_keywire import KeyWire

app = Flask(__name__)
app.config["KEYWIRE_PEPPER"] = os.environ.get("KEYWIRE_PEPPER")
app.config["KEYWIRE_PEPPER_FALLBACKS"] = [p for p in [os.environ.get("OLD_PEPPER")] if p is not None]
app.config.from_prefixed_env()
keywire = KeyWire(app)
"""


def _flask_cli(tmp_path, *args, env):
    import os
    import subprocess
    import sys

    (tmp_path / "app.py").write_text(QUICK_APP, encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KEYWIRE_", "FLASK_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "KEYWIRE_PEPPER is not set"),
        ({"KEYWIRE_PEPPER": ""}, "KEYWIRE_PEPPER is not set"),
        ({"KEYWIRE_PEPPER": "short"}, "KEYWIRE_PEPPER is 5 bytes long"),
        ({"KEYWIRE_PEPPER": "p" * 40, "OLD_PEPPER": "old"}, "KEYWIRE_PEPPER_FALLBACKS is 3"),
    ],
    ids=["missing", "empty", "short", "short-fallback"],
)
def test_a_bad_pepper_stops_the_cli_with_one_line(tmp_path, env, message):
    """Item 9: a missing, empty or short pepper was noticed only at request time (500s, silent
    loss of revocation) and ``flask keywire`` printed a 45-line traceback. Now KeyWire(app)
    refuses it, and the Flask command line says so in one line."""
    for args in (["keywire", "list"], ["keywire", "create", "--name", "x"], ["run"]):
        result = _flask_cli(tmp_path, *args, env=env)
        assert result.returncode != 0, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("Error: ") and message in lines[0]
        assert result.stdout == ""


def test_a_bad_pepper_stops_gunicorn_from_serving(tmp_path):
    """Item 9 with a real gunicorn: the workers cannot boot, so nothing is served at all."""
    from .servers import gunicorn

    with (
        pytest.raises(RuntimeError, match="did not start") as failure,
        gunicorn(tmp_path, tmp_path / "keys.sqlite3", env={"KW_TEST_PEPPER": "short"}),
    ):
        pass
    assert "KEYWIRE_PEPPER is 5 bytes long" in str(failure.value)


def test_store_errors_in_commands_are_one_line(tmp_path):
    """Item 9: any other failure in a ``flask keywire`` command is one line too."""
    (tmp_path / "not-a-dir").write_text("x", encoding="utf-8")
    env = {
        "KEYWIRE_PEPPER": "p" * 40,
        "FLASK_KEYWIRE_STORE": f"sqlite:///{tmp_path / 'not-a-dir' / 'keys.db'}",
    }
    (tmp_path / "app.py").write_text(QUICK_APP, encoding="utf-8")
    for args in (["keywire", "list"], ["keywire", "create", "--name", "x"]):
        result = _flask_cli(tmp_path, *args, env=env)
        assert result.returncode == 1, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


def test_serve_dev_listens_on_loopback_only(app):
    result = run(app, "serve-dev", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "loopback only" in result.output


def test_dev_certificate_is_made_once_and_its_ca_signs_nothing_else(tmp_path):
    """serve-dev's throwaway CA: the files are reused while valid, the CA's private key is never
    written, the server key is private, and a TLS client trusting ca.pem accepts 127.0.0.1."""
    import os
    import ssl

    from flask import Flask

    from flask_keywire import server_context
    from flask_keywire._devserver import dev_certificate
    from keywire.lab.server import LabServer

    files = dev_certificate(tmp_path / "keywire-dev")
    first = files.cert_file.read_bytes(), files.ca_file.read_bytes()
    again = dev_certificate(tmp_path / "keywire-dev")
    assert (again.cert_file.read_bytes(), again.ca_file.read_bytes()) == first
    assert sorted(p.name for p in (tmp_path / "keywire-dev").iterdir()) == [
        "ca.pem",
        "cert.pem",
        "key.pem",
    ]
    assert b"PRIVATE KEY" not in files.ca_file.read_bytes()
    assert os.stat(files.key_file).st_mode & 0o077 == 0
    app = Flask("devcert")
    app.get("/")(lambda: {"ok": True})
    import httpx

    context = ssl.create_default_context(cafile=str(files.ca_file))
    with (
        LabServer(app, ssl_context=server_context(files.cert_file, files.key_file)) as server,
        httpx.Client(verify=context, timeout=10) as client,
    ):
        assert client.get(server.url + "/").json() == {"ok": True}
