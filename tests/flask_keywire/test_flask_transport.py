"""Cleartext refusal, revocation, proxies and the HTTPS-side headers (issue 6, protection)."""

from __future__ import annotations

import logging

import pytest

HTTPS = "https://localhost"
HTTP = "http://localhost"


def test_https_request_with_valid_key_is_served(https, new_key):
    key, _ = new_key()
    response = https.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.get_json() == {"data": "sensitive resource"}
    bearer = https.get("/v1/resource", base_url=HTTPS, headers={"Authorization": f"Bearer {key}"})
    assert bearer.status_code == 200


def test_plain_test_client_is_cleartext_and_refused(app, new_key):
    key, _ = new_key()
    response = app.test_client().get("/v1/resource", headers={"X-API-Key": key})
    assert response.status_code == 403
    assert response.get_json()["error"] == "https_required"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "VALID"},
        {"Authorization": "Bearer VALID"},
        {"X-API-Key": "kw_live_AAAAAAAAAAAA_" + "B" * 49},
        {"X-API-Key": "not a key at all"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {},
    ],
    ids=["valid-header", "valid-bearer", "wrong-checksum", "garbage", "basic", "none"],
)
def test_cleartext_answer_is_identical_whatever_the_credential(app, new_key, headers):
    """The BCP's MUST: nothing on the path can tell a valid key from an invalid one."""
    key, _ = new_key()
    client = app.test_client()
    reference = client.get("/v1/resource", headers={"X-API-Key": "kw_live_invalid"})
    sent = {k: v.replace("VALID", key) for k, v in headers.items()}
    response = client.get("/v1/resource", headers=sent)
    assert response.status_code == reference.status_code == 403
    assert response.get_data() == reference.get_data()
    assert sorted(response.headers.items()) == sorted(reference.headers.items())
    assert "WWW-Authenticate" not in response.headers
    assert "Strict-Transport-Security" not in response.headers


def test_valid_key_over_cleartext_is_revoked_with_an_audit_event(app, keywire, new_key, caplog):
    key, record = new_key()
    with caplog.at_level(logging.WARNING, logger="flask_keywire.audit"):
        response = app.test_client().get("/v1/resource", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    events = [r for r in caplog.records if r.name == "flask_keywire.audit"]
    assert [(r.keywire_event, r.key_id) for r in events] == [("key.revoked", record.id)]
    assert key not in caplog.text
    assert key[-20:] not in caplog.text
    with app.app_context():
        stored = keywire.store.get(record.id)
    assert stored.revoked_at is not None and stored.revoked_reason == "cleartext"

    again = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert again.status_code == 401
    assert again.get_json()["error"] == "invalid_token"
    assert "cleartext" in again.get_json()["message"]


def test_valid_key_in_query_over_cleartext_is_revoked_too(app, keywire, new_key):
    key, record = new_key()
    response = app.test_client().get("/public", query_string={"page": key})
    assert response.status_code == 403
    with app.app_context():
        assert keywire.store.get(record.id).revoked_reason == "cleartext"


def test_revocation_on_cleartext_can_be_switched_off(make_app, clock):
    app, keywire = make_app(revoke_on_cleartext=False)
    with app.app_context():
        key, record = keywire.create_key("c", scopes=["read"])
    assert app.test_client().get("/v1/resource", headers={"X-API-Key": key}).status_code == 403
    with app.app_context():
        assert keywire.store.get(record.id).revoked_at is None
    ok = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert ok.status_code == 200


def test_invalid_key_over_cleartext_revokes_nothing(app, keywire, new_key):
    key, record = new_key()
    forged = key[:-10] + ("A" if key[-10] != "A" else "B") + key[-9:]
    app.test_client().get("/v1/resource", headers={"X-API-Key": forged})
    with app.app_context():
        assert keywire.store.get(record.id).revoked_at is None


def test_spoofed_forwarded_proto_does_not_make_cleartext_secure(app, keywire, new_key):
    key, record = new_key()
    for header, value in [
        ("X-Forwarded-Proto", "https"),
        ("Forwarded", "proto=https"),
        ("X-Forwarded-Ssl", "on"),
        ("X-Url-Scheme", "https"),
    ]:
        response = app.test_client().get("/v1/resource", headers={"X-API-Key": key, header: value})
        assert response.status_code == 403, header
        assert app.test_client().get("/public", headers={header: value}).status_code == 403
    # Still cleartext, so the key that came along is revoked.
    with app.app_context():
        assert keywire.store.get(record.id).revoked_reason == "cleartext"


def test_trusted_proxies_one_hop_honours_the_proxy(make_app):
    app, keywire = make_app(trusted_proxies=1)
    with app.app_context():
        key, _ = keywire.create_key("c", scopes=["read"])
    client = app.test_client()
    through_proxy = client.get(
        "/v1/resource", headers={"X-API-Key": key, "X-Forwarded-Proto": "https"}
    )
    assert through_proxy.status_code == 200
    assert "Strict-Transport-Security" in through_proxy.headers
    # The proxy appends to what the client sent: only the last hop counts.
    spoofed = client.get(
        "/v1/resource", headers={"X-API-Key": key, "X-Forwarded-Proto": "https, http"}
    )
    assert spoofed.status_code == 403


def test_trusted_proxies_is_read_at_request_time(make_app):
    app, _ = make_app()
    client = app.test_client()
    assert client.get("/public", headers={"X-Forwarded-Proto": "https"}).status_code == 403
    app.config["KEYWIRE_TRUSTED_PROXIES"] = 1
    assert client.get("/public", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def test_trusted_proxies_must_be_a_count(make_app):
    with pytest.raises(RuntimeError, match="number of proxies"):
        make_app(trusted_proxies=True)


def test_key_in_query_string_is_refused_like_no_key(https, new_key):
    key, _ = new_key()
    none = https.get("/v1/resource", base_url=HTTPS)
    for name in ("api_key", "apikey", "key", "access_token", "token", "anything"):
        response = https.get("/v1/resource", base_url=HTTPS, query_string={name: key})
        assert response.status_code == 401, name
        assert response.get_data() == none.get_data()
        assert response.headers["WWW-Authenticate"] == none.headers["WWW-Authenticate"]
    both = https.get(
        "/v1/resource", base_url=HTTPS, headers={"X-API-Key": key}, query_string={"api_key": key}
    )
    assert both.status_code == 401


def test_missing_key_gets_401_with_bearer_challenge(https):
    response = https.get("/v1/resource", base_url=HTTPS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == "unauthorized"


def test_invalid_key_gets_401_invalid_token(https, new_key):
    key, _ = new_key()
    response = https.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key + "x"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_two_different_keys_in_one_request_are_refused(https, new_key):
    key_a, _ = new_key("a")
    key_b, _ = new_key("b")
    response = https.get(
        "/v1/resource",
        base_url=HTTPS,
        headers={"X-API-Key": key_a, "Authorization": f"Bearer {key_b}"},
    )
    assert response.status_code == 401
    same = https.get(
        "/v1/resource",
        base_url=HTTPS,
        headers={"X-API-Key": key_a, "Authorization": f"Bearer {key_a}"},
    )
    assert same.status_code == 200


def test_hsts_on_https_responses_only(https, app):
    secure = https.get("/public", base_url=HTTPS)
    assert secure.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert https.get("/v1/resource", base_url=HTTPS).headers["Strict-Transport-Security"]
    cleartext = app.test_client().get("/public")
    assert "Strict-Transport-Security" not in cleartext.headers


def test_no_store_on_authenticated_responses(https, new_key, app, keywire):
    key, _ = new_key()

    @app.get("/cached")
    @keywire.required(scopes=["read"])
    def cached():
        return {"x": 1}, 200, {"Cache-Control": "public, max-age=600"}

    open_response = https.get("/public", base_url=HTTPS)
    assert "Cache-Control" not in open_response.headers
    response = https.get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert response.headers["Cache-Control"] == "no-store"
    # Even a view that asks for caching does not get authenticated data cached.
    overridden = https.get("/cached", base_url=HTTPS, headers={"X-API-Key": key})
    assert overridden.status_code == 200
    assert overridden.headers["Cache-Control"] == "no-store"


def test_cleartext_open_route_served_when_refusal_is_off(make_app):
    app, keywire = make_app(refuse_cleartext=False)
    with app.app_context():
        key, record = keywire.create_key("c", scopes=["read"])
    client = app.test_client()
    assert client.get("/public").status_code == 200
    # Protected routes and anything carrying a credential are still refused over cleartext...
    assert client.get("/v1/resource").status_code == 403
    assert client.get("/public", headers={"X-API-Key": key}).status_code == 403
    assert client.get("/public", query_string={"api_key": "x"}).status_code == 403
    assert client.get("/public", headers={"Authorization": "Basic eDp5"}).status_code == 403
    # ...and the key that came along is revoked.
    with app.app_context():
        assert keywire.store.get(record.id).revoked_reason == "cleartext"


def test_app_wide_mode_protects_every_route(make_app):
    app, keywire = make_app(protect_all=True, default_scopes=["read"])

    @app.get("/health")
    @keywire.exempt
    def health():
        return {"ok": True}

    with app.app_context():
        key, _ = keywire.create_key("c", scopes=["read"])
        write_key, _ = keywire.create_key("w", scopes=["write"])
    client = app.test_client()
    assert client.get("/public", base_url=HTTPS).status_code == 401
    assert client.get("/public", base_url=HTTPS, headers={"X-API-Key": key}).status_code == 200
    wrong_scope = client.get("/public", base_url=HTTPS, headers={"X-API-Key": write_key})
    assert wrong_scope.status_code == 403
    # Unknown URLs: no key, no information about which routes exist.
    assert client.get("/no-such-route", base_url=HTTPS).status_code == 401
    missing = client.get("/no-such-route", base_url=HTTPS, headers={"X-API-Key": key})
    assert missing.status_code == 404
    assert client.get("/health", base_url=HTTPS).status_code == 200
    # Over cleartext the app-wide mode refuses everything, exempt routes included.
    assert client.get("/health").status_code == 403
    assert client.get("/no-such-route").status_code == 403


def test_app_wide_mode_with_cleartext_allowed_still_refuses_protected_routes(make_app):
    app, keywire = make_app(protect_all=True, refuse_cleartext=False)

    @app.get("/health")
    @keywire.exempt
    def health():
        return {"ok": True}

    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/public").status_code == 403


def test_cors_preflight_needs_no_key_over_https_but_is_refused_over_http(app):
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    client = app.test_client()
    assert client.options("/v1/resource", base_url=HTTPS, headers=preflight).status_code == 200
    assert client.options("/v1/resource", headers=preflight).status_code == 403
    # An OPTIONS request that is not a preflight is an ordinary request: it needs a key.
    assert client.options("/v1/resource", base_url=HTTPS).status_code == 401


def test_decorator_checks_even_without_the_before_request_hook(make_app, new_key):
    """A decorator stacked on top without functools.wraps hides the marker; the wrapper still checks."""
    app, keywire = make_app()

    def careless(function):
        def inner(*args, **kwargs):
            return function(*args, **kwargs)

        return inner

    @app.get("/careless")
    @careless
    @keywire.required(scopes=["admin"])
    def guarded():
        return {"secret": True}

    with app.app_context():
        key, _ = keywire.create_key("c", scopes=["read"])
        admin, _ = keywire.create_key("a", scopes=["admin"])
    client = app.test_client()
    assert client.get("/careless", base_url=HTTPS).status_code == 401
    assert client.get("/careless", base_url=HTTPS, headers={"X-API-Key": key}).status_code == 403
    assert client.get("/careless", base_url=HTTPS, headers={"X-API-Key": admin}).status_code == 200
    assert client.get("/careless", headers={"X-API-Key": admin}).status_code == 403


def test_decorator_keeps_the_view_identity(keywire):
    def view():
        """Docstring."""

    wrapped = keywire.required(scopes=["read"])(view)
    assert wrapped.__name__ == "view" and wrapped.__doc__ == "Docstring."
    assert wrapped.__wrapped__ is view
    bare = keywire.required(view)
    assert bare.__name__ == "view"


def test_revocation_failure_does_not_change_the_cleartext_answer(
    app, keywire, new_key, caplog, monkeypatch
):
    key, _ = new_key()
    reference = app.test_client().get("/v1/resource").get_data()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    with app.app_context():
        monkeypatch.setattr(keywire.store, "revoke_within", broken)
        monkeypatch.setattr(keywire.store, "revoke", broken)
    with caplog.at_level(logging.WARNING, logger="flask_keywire"):
        response = app.test_client().get("/v1/resource", headers={"X-API-Key": key})
    assert response.status_code == 403
    assert response.get_data() == reference
    assert "could not revoke" in caplog.text
    # The revocation is pending, not lost: the key is refused over HTTPS meanwhile.
    again = app.test_client().get("/v1/resource", base_url=HTTPS, headers={"X-API-Key": key})
    assert again.status_code == 401 and "cleartext" in again.get_json()["message"]


def test_init_twice_is_an_error(app, keywire):
    with pytest.raises(RuntimeError, match="already initialised"):
        keywire.init_app(app)


def test_missing_pepper_is_explained(make_app):
    with pytest.raises(RuntimeError, match="KEYWIRE_PEPPER is not set"):
        make_app(pepper=None)
    with pytest.raises(RuntimeError, match="at least 32"):
        make_app(pepper="short")


def test_config_defaults_are_set_with_setdefault(make_app):
    app, _ = make_app(header="X-Custom-Key", hsts="max-age=31536000")
    assert app.config["KEYWIRE_HEADER"] == "X-Custom-Key"
    assert app.config["KEYWIRE_HSTS"] == "max-age=31536000"
    assert app.config["KEYWIRE_REFUSE_CLEARTEXT"] is True
    response = app.test_client().get("/public", base_url=HTTPS)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_app_wide_options_view_does_not_run_without_a_key(tmp_path):
    """Issue 11 item 4: with KEYWIRE_PROTECT_ALL an undecorated view that declares OPTIONS must
    not run its body for a keyless OPTIONS request. Only a real CORS preflight (Origin and
    Access-Control-Request-Method) passes, answered without the view. Real werkzeug, over TLS."""
    import ssl

    import httpx

    from flask_keywire import server_context
    from keywire.lab.certs import make_lab_pki
    from keywire.lab.server import LabServer

    from .servers import build_app, create_keys

    db = tmp_path / "keys.sqlite3"
    ((key, _),) = create_keys(db, 1)
    app = build_app(db, protect_all=True)
    (tmp_path / "pki").mkdir()
    pki = make_lab_pki(str(tmp_path / "pki"))
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    with (
        LabServer(app, ssl_context=server_context(pki.cert_file, pki.key_file)) as server,
        httpx.Client(verify=context, timeout=10) as client,
    ):
        url = f"{server.url}/v1/options"
        bare = client.options(url)
        assert bare.status_code == 401
        assert b"the view" not in bare.content
        half = client.options(url, headers={"Origin": "https://app.example"})
        assert half.status_code == 401
        preflight = client.options(
            url,
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert b"the view" not in preflight.content
        assert "GET" in preflight.headers["Allow"]
        keyed = client.options(url, headers={"X-API-Key": key})
        assert keyed.status_code == 200 and keyed.json() == {"ran": "the view", "method": "OPTIONS"}
