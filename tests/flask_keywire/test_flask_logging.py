"""Keys never reach logs: the redacting filter, and what KeyWire installs."""

from __future__ import annotations

import logging

import pytest

from flask_keywire import KeyRedactingFilter, generate_key

HTTPS = "https://localhost"


@pytest.fixture
def key() -> str:
    return generate_key("kw_live").plaintext


def _record(msg, *args) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)


def test_redacts_keys_keeping_prefix_and_id(key):
    prefix, key_id = key.rsplit("_", 2)[0], key.rsplit("_", 2)[1]
    record = _record("client sent %s in a body", key)
    KeyRedactingFilter().filter(record)
    message = record.getMessage()
    assert key not in message
    assert f"{prefix}_{key_id}_[redacted]" in message
    assert key[-12:] not in message


def test_redacts_werkzeug_access_log_query_parameters(key):
    line = '%s - - [%s] "%s" %s %s'
    record = _record(
        line, "127.0.0.1", "now", f"GET /v1/x?page=2&api_key={key}&token=abc HTTP/1.1", "403", "-"
    )
    KeyRedactingFilter().filter(record)
    message = record.getMessage()
    assert key not in message and "abc" not in message
    assert "page=2" in message and "api_key=" in message


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer sk-some-opaque-token", "sk-some-opaque-token"),
        ("headers={'X-API-Key': 'lab-key-client-a-0001'}", "lab-key-client-a-0001"),
        ("x-api-key=lab-key-client-a-0001", "lab-key-client-a-0001"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
    ],
)
def test_redacts_credential_header_values(text, secret):
    record = _record(text)
    KeyRedactingFilter().filter(record)
    assert secret not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_leaves_clean_records_alone():
    record = _record("GET /v1/resource?page=%d", 2)
    KeyRedactingFilter().filter(record)
    assert record.args == (2,) and record.getMessage() == "GET /v1/resource?page=2"


def test_broken_format_strings_pass_through():
    record = _record("%s %s", "only one")
    assert KeyRedactingFilter().filter(record) is True


def test_keywire_installs_the_filter_and_access_logs_stay_clean(app, new_key, caplog):
    assert any(isinstance(f, KeyRedactingFilter) for f in logging.getLogger("werkzeug").filters)
    assert any(isinstance(f, KeyRedactingFilter) for f in app.logger.filters)
    key, _ = new_key()

    @app.get("/chatty")
    def chatty():
        from flask import request

        app.logger.warning("request headers: %s", dict(request.headers))
        return {"ok": True}

    with caplog.at_level(logging.INFO):
        app.test_client().get("/chatty", base_url=HTTPS, headers={"X-API-Key": key})
        logging.getLogger("werkzeug").info('"GET /v1/resource?api_key=%s HTTP/1.1" 401 -', key)
    assert "request headers" in caplog.text
    assert key not in caplog.text
    assert key.rsplit("_", 1)[1] not in caplog.text


def test_filter_can_be_turned_off():
    from flask import Flask

    from flask_keywire import KeyWire

    app = Flask("kw_no_log_filter")
    app.config["KEYWIRE_PEPPER"] = "p" * 40
    app.config["KEYWIRE_LOG_FILTER"] = False
    KeyWire(app)
    assert not any(isinstance(f, KeyRedactingFilter) for f in app.logger.filters)


def test_custom_key_header_is_redacted_too():
    record = _record("X-Custom-Key: lab-key-client-a-0001")
    KeyRedactingFilter(header_names=["X-Custom-Key"]).filter(record)
    assert "lab-key" not in record.getMessage()


def _basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_exception_text_quoting_a_key_is_redacted(tmp_path, caplog):
    """Issue 11 item 6: a view's exception quoting the Authorization header must not put the key
    in any log: message, exception text and stack text are redacted, and no handler can render
    the raw exception again. A real werkzeug server over TLS."""
    import io
    import ssl

    import httpx

    from flask_keywire import server_context
    from keywire.lab.certs import make_lab_pki
    from keywire.lab.server import LabServer

    from .servers import build_app, create_keys

    db = tmp_path / "keys.sqlite3"
    ((key, _),) = create_keys(db, 1)
    app = build_app(db)
    (tmp_path / "pki").mkdir()
    pki = make_lab_pki(str(tmp_path / "pki"))
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    stream = io.StringIO()
    plain = logging.StreamHandler(stream)
    plain.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(keep := Keep())
    root.addHandler(plain)
    try:
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        with (
            caplog.at_level(logging.DEBUG),
            LabServer(app, ssl_context=server_context(pki.cert_file, pki.key_file)) as server,
            httpx.Client(verify=context, timeout=10) as client,
        ):
            for header in (f"Bearer {key}", _basic(key)):
                response = client.get(f"{server.url}/v1/boom", headers={"Authorization": header})
                # Basic is not a key scheme: 401 before the view; Bearer reaches it and fails.
                assert response.status_code in (401, 500)
            app.logger.error("stack check %s", "x", stack_info=True)
            try:
                raise ValueError(f"header was {_basic(key)}")
            except ValueError:
                app.logger.exception("caught")
    finally:
        root.removeHandler(keep)
        root.removeHandler(plain)
    secret = key.rsplit("_", 1)[1]
    texts = [caplog.text, stream.getvalue()]
    for record in records:
        texts.append(record.getMessage())
        texts.append(record.exc_text or "")
        texts.append(record.stack_info or "")
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    everything = "\n".join(texts)
    assert "Exception on /v1/boom" in everything and "cannot parse Bearer" in everything
    assert "header was" in everything
    assert key not in everything and secret not in everything
    assert _basic(key).split()[1] not in everything


def _gunicorn_logs(server) -> str:
    return server.log_text() + "\n" + server.access_log.read_text(encoding="utf-8")


@pytest.mark.parametrize("logger_class", [None, "flask_keywire.gunicorn.RedactingLogger"])
def test_gunicorn_access_and_error_logs_hold_no_key(tmp_path, logger_class):
    """Issue 11 item 7: gunicorn's access log recorded full keys from ?api_key= and
    ?access_token=. With KeyWire's filter on gunicorn's loggers (default logger class), and with
    the documented logger class and a format that logs credential headers, no log has a key."""
    from .servers import create_keys, gunicorn, http_request, raw_request

    db = tmp_path / "keys.sqlite3"
    keys = [key for key, _ in create_keys(db, 6)]
    args: tuple[str, ...] = ()
    fmt = None
    if logger_class is not None:
        args = ("--logger-class", logger_class)
        fmt = '%(h)s "%(r)s" %(s)s q=%(q)s u=%(U)s auth=%({authorization}i)s xkey=%({x-api-key}i)s cookie=%({cookie}i)s'
    with gunicorn(tmp_path, db, workers=2, args=args, access_format=fmt) as server:
        requests = [
            http_request("GET", f"/public?api_key={keys[0]}", []),
            http_request("GET", f"/public?page=1&access_token={keys[1]}", []),
            http_request("GET", f"/v1/keys/{keys[2]}", []),
            http_request("GET", "/v1/resource", [("Authorization", f"Bearer {keys[3]}")]),
            http_request("GET", "/v1/resource", [("X-API-Key", keys[4])]),
            http_request("GET", "/public", [("Cookie", f"s={keys[5]}")]),
        ]
        for request in requests:
            assert raw_request(server.port, request)[0] == 403
    logs = _gunicorn_logs(server)
    assert logs.count("403") >= len(requests)  # the access log was written
    for key in keys:
        assert key not in logs
        assert key.rsplit("_", 1)[1] not in logs
    assert "[redacted]" in logs
