"""Revocation on cleartext cannot be dodged (issue 11, items 1 and 2).

A valid key that crossed the network in the clear is revoked wherever it was in the request:
repeated headers (which servers join as ``KEY,KEY``), Basic credentials, other schemes, other
headers, cookies, the path, the query string, the body. Checked with Flask's test client, a real
werkzeug server and a real gunicorn with several workers, all on one SQLite file; the answer
stays the one constant 403, and the key then fails over HTTPS.
"""

from __future__ import annotations

import base64
import shutil
import ssl
from urllib.parse import quote

import httpx
import pytest

from flask_keywire import generate_key, server_context
from keywire.lab.certs import make_lab_pki
from keywire.lab.server import LabServer
from keywire.secrets.catalogue import keywire_key_checksum

from .servers import (
    build_app,
    create_keys,
    gunicorn,
    http_request,
    raw_request,
    revoked_reason,
)

HTTPS = "https://localhost"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


#: Where a key can travel, as (headers, path, body) built from the key.
PLACES = {
    "duplicate-x-api-key": lambda k: ([("X-API-Key", k), ("X-API-Key", k)], "/v1/resource", b""),
    "duplicate-bearer": lambda k: (
        [("Authorization", f"Bearer {k}"), ("Authorization", f"Bearer {k}")],
        "/v1/resource",
        b"",
    ),
    "x-api-key-then-other": lambda k: (
        [("X-API-Key", k), ("X-API-Key", "something-else")],
        "/v1/resource",
        b"",
    ),
    "basic-key-colon": lambda k: (
        [("Authorization", f"Basic {_b64(k + ':')}")],
        "/v1/resource",
        b"",
    ),
    "basic-user-key": lambda k: ([("Authorization", f"Basic {_b64('api:' + k)}")], "/public", b""),
    "token-scheme": lambda k: ([("Authorization", f"Token {k}")], "/v1/resource", b""),
    "proxy-authorization": lambda k: (
        [("Proxy-Authorization", f"Bearer {k}")],
        "/public",
        b"",
    ),
    "cookie": lambda k: ([("Cookie", f"theme=dark; session={k}")], "/public", b""),
    "other-x-header": lambda k: ([("X-Auth-Token", k)], "/public", b""),
    "path": lambda k: ([], f"/v1/keys/{k}", b""),
    "path-percent-encoded": lambda k: (
        [],
        "/v1/keys/" + quote(k, safe="").replace("_", "%5F"),
        b"",
    ),
    "query-with-comma": lambda k: ([], f"/public?api_key={k},", b""),
    "query-other-name": lambda k: ([], f"/public?q=x&filter={k}&page=2", b""),
    "form-body": lambda k: (
        [("Content-Type", "application/x-www-form-urlencoded")],
        "/v1/form",
        f"name=x&api_key={quote(k)}".encode(),
    ),
    "json-body": lambda k: (
        [("Content-Type", "application/json")],
        "/v1/form",
        ('{"credentials": {"key": "' + k + '"}}').encode(),
    ),
}


def _request(place: str, key: str) -> tuple[list[tuple[str, str]], str, bytes]:
    return PLACES[place](key)


@pytest.fixture(scope="module")
def pki():
    made = make_lab_pki()
    yield made
    shutil.rmtree(made.directory, ignore_errors=True)


def _https_status(app, key: str) -> tuple[int, str]:
    response = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    payload = response.get_json(silent=True) or {}
    return response.status_code, str(payload.get("message", ""))


@pytest.mark.parametrize("place", sorted(PLACES))
def test_test_client_revokes_a_key_wherever_it_travelled(tmp_path, place):
    db = tmp_path / "keys.sqlite3"
    (key, key_id), (bystander, bystander_id) = create_keys(db, 2)
    app = build_app(db)
    headers, path, body = _request(place, key)
    method = "POST" if body else "GET"
    # use_cookies=False: the test client would otherwise replace a Cookie header with its jar.
    response = app.test_client(use_cookies=False).open(
        path, method=method, headers=headers, data=body
    )
    reference = app.test_client().get("/v1/resource")
    assert response.status_code == 403
    assert response.get_data() == reference.get_data()
    assert revoked_reason(db, key_id) == "cleartext"
    assert revoked_reason(db, bystander_id) is None
    status, message = _https_status(app, key)
    assert status == 401 and "cleartext" in message
    assert _https_status(app, bystander)[0] == 200


@pytest.mark.parametrize("place", sorted(PLACES))
def test_forged_keys_revoke_nothing_wherever_they_are(tmp_path, place):
    """A real id with a forged secret (and a valid checksum) revokes nothing: the BCP's MUST
    against denial of service by guessed credentials."""
    db = tmp_path / "keys.sqlite3"
    ((key, key_id),) = create_keys(db, 1)
    body = key[:-6]
    forged_body = body[:-5] + ("AAAAA" if body[-5:] != "AAAAA" else "BBBBB")
    forged = forged_body + keywire_key_checksum(forged_body)
    app = build_app(db)
    headers, path, data = _request(place, forged)
    app.test_client(use_cookies=False).open(
        path, method="POST" if data else "GET", headers=headers, data=data
    )
    assert revoked_reason(db, key_id) is None
    assert _https_status(app, key)[0] == 200


def test_werkzeug_server_revokes_duplicated_and_hidden_keys(tmp_path, pki):
    """A real werkzeug server (threaded) on loopback: the cleartext port and the HTTPS port of the
    same application on one SQLite file, requests sent byte for byte over raw sockets."""
    db = tmp_path / "keys.sqlite3"
    places = sorted(PLACES)
    keys = create_keys(db, len(places) + 1)
    app = build_app(db)
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        LabServer(app) as http_server,
        LabServer(app, ssl_context=server_context(pki.cert_file, pki.key_file)) as https_server,
    ):
        for place, (key, _) in zip(places, keys, strict=False):
            headers, path, body = _request(place, key)
            method = "POST" if body else "GET"
            status, _ = raw_request(http_server.port, http_request(method, path, headers, body))
            assert status == 403, place
        with httpx.Client(verify=context, timeout=10) as client:
            for place, (key, key_id) in zip(places, keys, strict=False):
                assert revoked_reason(db, key_id) == "cleartext", place
                answer = client.get(f"{https_server.url}/v1/resource", headers={"X-API-Key": key})
                assert answer.status_code == 401, place
                assert "cleartext" in answer.json()["message"]
            unused, _ = keys[-1]
            ok = client.get(f"{https_server.url}/v1/resource", headers={"X-API-Key": unused})
            assert ok.status_code == 200


def test_gunicorn_workers_revoke_duplicated_and_hidden_keys(tmp_path, pki):
    """A real gunicorn, three sync workers on one SQLite file, cleartext on one instance and
    HTTPS on another: every place a key can travel, raw bytes over loopback."""
    db = tmp_path / "keys.sqlite3"
    places = sorted(PLACES)
    keys = create_keys(db, len(places) + 1)
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        gunicorn(tmp_path, db, workers=3) as plain,
        gunicorn(tmp_path, db, workers=2, tls=(pki.cert_file, pki.key_file)) as secure,
    ):
        reference = None
        for place, (key, _) in zip(places, keys, strict=False):
            headers, path, body = _request(place, key)
            method = "POST" if body else "GET"
            status, data = raw_request(plain.port, http_request(method, path, headers, body))
            assert status == 403, (place, data[:300])
            payload = data.split(b"\r\n\r\n", 1)[1]
            reference = reference or payload
            assert payload == reference, place
        for place, (key, key_id) in zip(places, keys, strict=False):
            assert revoked_reason(db, key_id) == "cleartext", place
            status, data = raw_request(
                secure.port,
                http_request("GET", "/v1/resource", [("X-API-Key", key)]),
                context=context,
            )
            assert status == 401 and b"cleartext" in data, place
        unused, _ = keys[-1]
        status, _ = raw_request(
            secure.port,
            http_request("GET", "/v1/resource", [("X-API-Key", unused), ("X-API-Key", unused)]),
            context=context,
        )
        assert status == 200  # the same key twice over HTTPS is one key


def test_duplicate_header_over_https_with_two_different_keys_is_refused(tmp_path):
    db = tmp_path / "keys.sqlite3"
    (a, _), (b, _) = create_keys(db, 2)
    app = build_app(db)
    client = app.test_client()
    both = client.get("/v1/resource", base_url=HTTPS, headers=[("X-API-Key", a), ("X-API-Key", b)])
    assert both.status_code == 401
    joined = client.get(
        "/v1/resource", base_url=HTTPS, headers={"Authorization": f"Bearer {a},{b}"}
    )
    assert joined.status_code == 401
    same = client.get("/v1/resource", base_url=HTTPS, headers=[("X-API-Key", a), ("X-API-Key", a)])
    assert same.status_code == 200


def test_many_decoys_do_not_hide_the_real_key(tmp_path):
    """Work is bounded per request, but not so that decoys in front can hide a key: a thousand
    checksum-valid fakes with real-looking ids, then the real key, in one form body."""
    db = tmp_path / "keys.sqlite3"
    ((key, key_id),) = create_keys(db, 1)
    decoys = [generate_key("kw_live").plaintext for _ in range(800)]
    body = ("&".join(f"k{i}={d}" for i, d in enumerate(decoys)) + f"&real={key}").encode()
    assert len(body) < 64 * 1024
    app = build_app(db)
    response = app.test_client().post(
        "/v1/form", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 403
    assert revoked_reason(db, key_id) == "cleartext"


def test_open_cleartext_request_with_a_key_in_a_cookie_is_refused_when_refusal_is_off(tmp_path):
    """With KEYWIRE_REFUSE_CLEARTEXT off, credential-less requests are served; one that carries a
    key anywhere (here a cookie and a small form body) is refused and the key revoked."""
    db = tmp_path / "keys.sqlite3"
    (key, key_id), (other, other_id) = create_keys(db, 2)
    app = build_app(db, refuse_cleartext=False)
    client = app.test_client(use_cookies=False)
    assert client.get("/public", headers={"Cookie": "theme=dark"}).status_code == 200
    assert client.get("/public", headers={"Cookie": f"session={key}"}).status_code == 403
    assert revoked_reason(db, key_id) == "cleartext"
    posted = client.post("/public", data={"note": other})
    assert posted.status_code == 403
    assert revoked_reason(db, other_id) == "cleartext"
