"""A locked key store loses no revocation and shows no HTML error (issue 11, item 3).

Another program holds the SQLite file (a backup, a migration): ``BEGIN EXCLUSIVE`` blocks
writers; in rollback-journal mode it blocks readers too. A key seen over cleartext meanwhile is
journaled beside the store, refused by every worker until the store takes the revocation, and
revoked as soon as the lock goes; checking keys during the lock answers with flask_keywire's JSON
error, never an HTML 500.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import ssl
import time

import pytest

from keywire.lab.certs import make_lab_pki

from .servers import (
    build_app,
    create_keys,
    gunicorn,
    http_request,
    raw_request,
    revoked_reason,
    wait_until,
)

HTTPS = "https://localhost"


@pytest.fixture(scope="module")
def pki():
    made = make_lab_pki()
    yield made
    shutil.rmtree(made.directory, ignore_errors=True)


@contextlib.contextmanager
def held(db, *, seconds: float):
    """Hold the database exclusively from another connection (and thread) for ``seconds``, or
    until the block ends, whichever comes last."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    until = time.monotonic() + seconds
    try:
        yield
    finally:
        time.sleep(max(0.0, until - time.monotonic()))
        conn.execute("ROLLBACK")
        conn.close()


def _https(app, key):
    return app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})


def test_cleartext_revocation_during_a_held_lock_is_kept_and_applied(tmp_path, caplog):
    db = tmp_path / "keys.sqlite3"
    (key, key_id), (bystander, _) = create_keys(db, 2)
    app = build_app(db)
    assert _https(app, bystander).status_code == 200  # the store is open (write-ahead log)
    with held(db, seconds=3):
        started = time.monotonic()
        response = app.test_client().get("/v1/resource", headers=[("X-API-Key", key)] * 2)
        assert response.status_code == 403
        assert time.monotonic() - started < 2.5  # a bounded wait, then the journal
        assert revoked_reason(db, key_id) is None  # the store cannot take it yet...
        refused = _https(app, key)  # ...but the key is refused: fail closed
        assert refused.status_code == 401
        assert "cleartext" in refused.get_json()["message"]
        assert _https(app, bystander).status_code == 200
    # The lock is gone: the journaled revocation reaches the store.
    assert wait_until(lambda: revoked_reason(db, key_id) == "cleartext", timeout=15)
    assert _https(app, key).status_code == 401
    assert key not in caplog.text


def test_rollback_journal_lock_answers_json_503_and_still_loses_nothing(tmp_path):
    """In rollback-journal mode a held lock blocks reads too: the key cannot even be checked.
    HTTPS answers a JSON 503 with Retry-After; cleartext still answers the one 403, and the
    key it carried (unverified for now) is refused once the store is back, then revoked."""
    db = tmp_path / "keys.sqlite3"
    (key, key_id), (bystander, _) = create_keys(db, 2)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    app = build_app(db, timeout=0.5)
    reference = app.test_client().get("/v1/resource").get_data()
    with held(db, seconds=2):
        busy = _https(app, bystander)
        assert busy.status_code == 503
        assert busy.is_json and busy.get_json()["error"] == "temporarily_unavailable"
        assert busy.headers["Retry-After"] == "5"
        assert b"<html" not in busy.get_data().lower()
        cleartext = app.test_client().get(
            "/v1/resource", headers={"Authorization": f"Bearer {key}"}
        )
        assert cleartext.status_code == 403 and cleartext.get_data() == reference
    assert _https(app, bystander).status_code == 200
    refused = _https(app, key)
    assert refused.status_code == 401 and "cleartext" in refused.get_json()["message"]
    assert wait_until(lambda: revoked_reason(db, key_id) == "cleartext", timeout=15)


def test_gunicorn_workers_under_a_held_lock(tmp_path, pki):
    """A real gunicorn, three workers on one SQLite file held exclusively for 4 s: the key sent
    over cleartext is refused by every worker at once and revoked after the lock; other keys keep
    working; no 500, no HTML, no "database is locked" to a client."""
    db = tmp_path / "keys.sqlite3"
    (key, key_id), (bystander, _) = create_keys(db, 2)
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        gunicorn(tmp_path, db, workers=3) as plain,
        gunicorn(tmp_path, db, workers=3, tls=(pki.cert_file, pki.key_file)) as secure,
    ):

        def https(k: str) -> tuple[int, bytes]:
            return raw_request(
                secure.port,
                http_request("GET", "/v1/resource", [("X-API-Key", k)]),
                context=context,
            )

        assert https(bystander)[0] == 200
        with held(db, seconds=4):
            status, _ = raw_request(
                plain.port,
                http_request("GET", "/v1/resource", [("X-API-Key", key), ("X-API-Key", key)]),
            )
            assert status == 403
            answers = [https(key) for _ in range(6)]  # sync workers: spread over the processes
            assert all(s == 401 and b"cleartext" in body for s, body in answers), answers
            assert revoked_reason(db, key_id) is None
            assert https(bystander)[0] == 200
        assert wait_until(lambda: revoked_reason(db, key_id) == "cleartext", timeout=15)
        assert https(key)[0] == 401
    logs = plain.log_text() + secure.log_text()
    assert "Traceback" not in logs and key not in logs


def test_journal_survives_the_process_that_wrote_it(tmp_path):
    """The gunicorn that saw the key stops while the lock is still held: the journal on disk
    makes a new process refuse the key, and ``flask keywire list`` applies the revocation."""
    db = tmp_path / "keys.sqlite3"
    ((key, key_id),) = create_keys(db, 1)
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        with gunicorn(tmp_path, db, workers=2) as plain:
            status, _ = raw_request(
                plain.port, http_request("GET", "/public", [("Cookie", f"k={key}")])
            )
            assert status == 403
        assert (tmp_path / "keys.sqlite3-revocations").exists()
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert revoked_reason(db, key_id) is None  # nobody applied it: that process is gone
    app = build_app(db)
    refused = _https(app, key)
    assert refused.status_code == 401 and "cleartext" in refused.get_json()["message"]
    result = app.test_cli_runner().invoke(args=["keywire", "list"])
    assert result.exit_code == 0, result.output
    assert revoked_reason(db, key_id) == "cleartext"
    assert "revoked (cleartext)" in result.stdout
