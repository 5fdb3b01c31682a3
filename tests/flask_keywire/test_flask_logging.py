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
    app.config["KEYWIRE_LOG_FILTER"] = False
    KeyWire(app)
    assert not any(isinstance(f, KeyRedactingFilter) for f in app.logger.filters)


def test_custom_key_header_is_redacted_too():
    record = _record("X-Custom-Key: lab-key-client-a-0001")
    KeyRedactingFilter(header_names=["X-Custom-Key"]).filter(record)
    assert "lab-key" not in record.getMessage()
