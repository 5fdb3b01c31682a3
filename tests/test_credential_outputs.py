"""No output ever shows the user's credential or a secret a server leaked (issue 10, items 8-10).

Hostile lab servers echo the credential into response headers, an HSTS value, a cookie, the body
and a malformed status line, and leak a provider secret in a header and the body. The scan runs
with ``-v`` and ``-vv`` and writes every format; stdout, stderr and every file are then searched
for the planted values (whole, and in the pieces an error message could quote).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask, jsonify, request

from keywire import ScanOptions
from keywire.cli import main
from keywire.lab import LabServer
from keywire.reporters import FORMATS
from labs import raw

CREDENTIAL = "kwtest-cred-7Hq2Vx9Lm4Np8Rs1Tz6W"
STRIPE = "sk_live_" + "4eRt7Yu1Io3Pa5Sd8Fg0Hj2K"


def _pieces(secret: str) -> list[str]:
    """The secret and the stretches of it an error text might quote (12 characters and more)."""
    return [secret] + [secret[i : i + 12] for i in range(0, len(secret) - 11, 4)]


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    return [
        (name, piece)
        for name, text in texts.items()
        for secret in secrets
        for piece in _pieces(secret)
        if piece in text
    ]


def _echo_app(seen: list[str]) -> Flask:
    app = Flask("echo_lab")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str):  # type: ignore[no-untyped-def]
        key = request.headers.get("X-API-Key", "")
        response = jsonify(echo=key, config={"stripe": STRIPE}, next=f"http://cdn.test/{STRIPE}")
        response.headers["X-Leak"] = STRIPE
        # The secret also sits where checks quote headers: HSTS, links, cookies, challenges.
        response.headers["Strict-Transport-Security"] = f"max-age={STRIPE}"
        response.headers["Link"] = f"<http://cdn.test/{STRIPE}>; rel=next"
        response.headers["Content-Location"] = f"http://cdn.test/x/{STRIPE}"
        response.headers["WWW-Authenticate"] = f'Basic realm="{STRIPE}"'
        response.set_cookie("pref", STRIPE)
        if key:
            seen.append(key)
            response.headers["X-Echo"] = key
            response.headers["Strict-Transport-Security"] = f"max-age={key}"
            response.headers["WWW-Authenticate"] = f'Bearer realm="{key}"'
            response.set_cookie("sid", key)
        return response

    return app


def _status_line_echo(context, seen: list[bytes]):  # type: ignore[no-untyped-def]
    """A TLS server that echoes the X-API-Key value into a malformed status line."""
    lock = threading.Lock()

    def handler(conn, stop):  # type: ignore[no-untyped-def]
        with context.wrap_socket(conn, server_side=True) as tls:
            request_bytes = raw.read_request(tls)
            match = re.search(rb"(?im)^x-api-key: *([^\r\n]+)", request_bytes)
            if match:
                with lock:
                    seen.append(match.group(1))
                tls.sendall(b"HTTP/1.1 " + match.group(1) + b" OK\r\n\r\n")
            else:
                tls.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")

    return handler


@pytest.fixture
def hostile_targets(server_context):  # type: ignore[no-untyped-def]
    seen_flask: list[str] = []
    seen_raw: list[bytes] = []
    app = _echo_app(seen_flask)
    with (
        LabServer(app, ssl_context=server_context) as https,
        LabServer(app) as http,
        raw.RawServer(_status_line_echo(server_context, seen_raw)) as status,
    ):
        yield {
            "args": [
                https.url + "/v1/resource",
                f"https://127.0.0.1:{status.port}/v1/resource",
                "--http-port",
                str(http.port),
            ],
            "seen_flask": seen_flask,
            "seen_raw": seen_raw,
        }


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_credential_and_leaked_secret_in_no_output_or_log(
    hostile_targets, ca_file, tmp_path: Path, verbosity: str
):
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in FORMATS if fmt != "console"}
    # A real process: logging is configured once per process, as for a user.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "keywire",
            "scan",
            *hostile_targets["args"],
            "--ca-file",
            ca_file,
            "--timeout",
            "3",
            "--header-env",
            "X-API-Key=KW_TEST_CREDENTIAL",
            verbosity,
            *[arg for fmt, path in files.items() for arg in ("-o", f"{fmt}:{path}")],
        ],
        env={**os.environ, "KW_TEST_CREDENTIAL": CREDENTIAL},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (1, 3), result.stderr
    # The credential did reach both servers over verified HTTPS, and they echoed it back.
    assert CREDENTIAL in hostile_targets["seen_flask"]
    assert CREDENTIAL.encode() in hostile_targets["seen_raw"]
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    texts |= {fmt: path.read_text("utf-8") for fmt, path in files.items()}
    assert _leaks(texts, [CREDENTIAL, STRIPE]) == []
    assert "KW701" in texts["json"]  # the leaked secret is reported, redacted
    assert "INFO" in result.stderr
    if verbosity == "-vv":
        assert "DEBUG" in result.stderr


def test_library_report_hides_an_echoed_credential(hostile_targets, ca_file):
    """Through the Python API too: the report itself never holds the credential."""
    from keywire import parse_target, scan
    from keywire.reporters import render

    url, status_url, _, http_port = hostile_targets["args"]
    report = scan(
        [parse_target(url, http_port=int(http_port)), status_url],
        options=ScanOptions(headers={"X-API-Key": CREDENTIAL}, ca_file=ca_file, timeout=3),
    )
    status = report.targets[1]
    reasons = " ".join(o.reason for o in status.outcomes) + status.error
    assert "[credential]" in reasons  # the library's error quoted it; keywire hid it
    texts = {fmt: render(report, fmt) for fmt in FORMATS}
    assert _leaks(texts, [CREDENTIAL]) == []


# -- item 8: a value with a line break is refused before anything is sent ------------------------


BAD_VALUES = {
    "crlf": CREDENTIAL + "\r\nX-Injected: 1",
    "lf": CREDENTIAL + "\nX-Injected: 1",
    "cr": CREDENTIAL + "\r",
    "nul": CREDENTIAL + "\x00",
    "esc": CREDENTIAL + "\x1b[2J",
    "del": CREDENTIAL + "\x7f",
    "non-ascii": CREDENTIAL + "é",
}


@pytest.mark.parametrize("how", ["header", "header-env"])
@pytest.mark.parametrize("kind", sorted(set(BAD_VALUES) - {"nul"}))  # argv and env cannot hold NUL
def test_bad_header_value_is_a_usage_error_before_any_traffic(
    lab_api, tmp_path: Path, how: str, kind: str
):
    api = lab_api()
    value = BAD_VALUES[kind]
    option = (
        ["--header", f"X-API-Key: {value}"]
        if how == "header"
        else ["--header-env", "X-API-Key=KW_TEST_CREDENTIAL"]
    )
    files = [tmp_path / f"r.{fmt}" for fmt in FORMATS]
    result = CliRunner().invoke(
        main,
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            *option,
            "-vv",
            *[arg for fmt, f in zip(FORMATS, files, strict=True) for arg in ("-o", f"{fmt}:{f}")],
        ],
        env={"KW_TEST_CREDENTIAL": value},
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "X-API-Key" in result.stderr
    assert "not sent and not shown" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _leaks({"stderr": result.stderr}, [CREDENTIAL]) == []
    assert api.behaviour.seen == [], "nothing may be sent"
    assert not any(f.exists() for f in files)


def test_library_refuses_a_bad_header_value_without_quoting_it():
    for value in BAD_VALUES.values():
        with pytest.raises(ValueError, match="header X-API-Key: the value contains") as caught:
            ScanOptions(headers={"X-API-Key": value})
        assert CREDENTIAL not in str(caught.value)
        assert "X-API-Key" in str(caught.value)


def test_tokens_command_refuses_a_bad_header_value(tmp_path: Path):
    result = CliRunner().invoke(
        main,
        [
            "tokens",
            "https://127.0.0.1:9/login",
            "--from",
            "cookie:sid",
            "--header",
            f"X-API-Key: {BAD_VALUES['crlf']}",
        ],
    )
    assert result.exit_code == 2
    assert CREDENTIAL not in result.stderr + result.stdout
    assert "line break" in result.stderr


# -- item 10: a credential in the target's query string is refused ---------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_credential_in_a_target_is_refused_in_every_format(lab_api, tmp_path: Path, fmt):
    api = lab_api(refuse_cleartext=False, query_key=True)
    report_file = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(
        main,
        [
            "scan",
            f"{api.http.url}/v1/resource?page=2&api_key={CREDENTIAL}",
            "--https-port",
            str(api.https.port),
            "--format",
            fmt,
            "-o",
            f"{fmt}:{report_file}",
            "-vv",
        ],
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "credential in the query string (api_key) is refused" in result.stderr
    assert "--header" in result.stderr
    assert "api_key=[redacted]" in result.stderr
    assert _leaks({"stderr": result.stderr}, [CREDENTIAL]) == []
    assert not report_file.exists()
    assert api.behaviour.seen == [], "nothing may be sent"


@pytest.mark.parametrize(
    "name", ["api_key", "API-Key", "apikey", "token", "access_token", "key", "password", "secret"]
)
def test_query_credential_names(name):
    from keywire import TargetError, parse_target

    with pytest.raises(TargetError, match="credential in the query string") as caught:
        parse_target(f"https://api.example.invalid/v1?{name}={CREDENTIAL}")
    assert CREDENTIAL not in str(caught.value)


def test_ordinary_query_and_empty_credential_parameters_are_kept():
    from keywire import parse_target

    assert parse_target("https://h.invalid/v1?page=2&sort=name").url.endswith("?page=2&sort=name")
    assert parse_target("https://h.invalid/v1?token=").url.endswith("?token=")


def test_library_scan_refuses_before_any_traffic(lab_api):
    from keywire import TargetError, scan

    api = lab_api(refuse_cleartext=False)
    with pytest.raises(TargetError):
        scan(f"{api.http.url}/v1?access_token={CREDENTIAL}", options=ScanOptions(timeout=2))
    assert api.behaviour.seen == []


def test_other_target_errors_do_not_quote_the_query_either():
    from keywire import TargetError, parse_target

    for url in (
        f"http://h.invalid:99999/v1?api_key={CREDENTIAL}",
        f"gopher://h.invalid/?token={CREDENTIAL}",
        f"h.invalid/v1?key={CREDENTIAL}",
    ):
        with pytest.raises(TargetError) as caught:
            parse_target(url)
        assert CREDENTIAL not in str(caught.value), url


def test_spec_url_with_a_query_credential_is_refused():
    result = CliRunner().invoke(
        main, ["scan", "--spec", f"http://127.0.0.1:9/openapi.json?token={CREDENTIAL}"]
    )
    assert result.exit_code == 2
    assert "credential in the query string (token)" in result.stderr
    assert CREDENTIAL not in result.stderr


def test_tokens_url_with_a_query_credential_is_refused():
    result = CliRunner().invoke(
        main, ["tokens", f"http://127.0.0.1:9/login?api_key={CREDENTIAL}", "--from", "cookie:sid"]
    )
    assert result.exit_code == 2
    assert CREDENTIAL not in result.stderr + result.stdout


def test_spec_query_credential_example_is_never_sent(lab_api, tmp_path: Path):
    """A spec whose operation requires ``?api_key=`` with an example: the example stays home."""
    import json

    api = lab_api(require_key=False)
    spec = tmp_path / "openapi.json"
    spec.write_text(
        json.dumps(
            {
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "servers": [{"url": api.https.url}],
                "paths": {
                    "/v1/items": {
                        "get": {
                            "parameters": [
                                {
                                    "name": "api_key",
                                    "in": "query",
                                    "required": True,
                                    "schema": {"type": "string"},
                                    "example": CREDENTIAL,
                                },
                                {
                                    "name": "limit",
                                    "in": "query",
                                    "required": True,
                                    "schema": {"type": "integer"},
                                    "example": 5,
                                },
                            ],
                            "responses": {"200": {"description": "ok"}},
                        }
                    }
                },
            }
        )
    )
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--spec",
            str(spec),
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--timeout",
            "5",
            "--format",
            "json",
        ],
    )
    assert result.exit_code in (0, 1), result.stderr
    assert any("limit=5" in r["url"] for r in api.behaviour.seen), "the endpoint was probed"
    assert not any(CREDENTIAL in v for r in api.behaviour.seen for v in r.values())
    assert CREDENTIAL not in result.stdout + result.stderr


# -- the scrubber itself -----------------------------------------------------------------------------


def test_scrub_hides_every_form_a_message_may_quote():
    import base64

    from keywire.redact import scrub

    bearer = f"Bearer {CREDENTIAL}"
    assert scrub(f"realm 'Bearer' got {CREDENTIAL}", [bearer]) == "realm 'Bearer' got [credential]"
    assert scrub(f"b'{CREDENTIAL}'", [bearer]) == "b'[credential]'"
    assert scrub(f"line: X-API-Key: {CREDENTIAL[:15]}", [CREDENTIAL]).endswith("[credential]")
    cookie = f"sid={CREDENTIAL}; theme=dark"
    assert scrub(f"Set-Cookie: sid={CREDENTIAL}; Path=/", [cookie]) == (
        "Set-Cookie: [credential]; Path=/"
    )
    assert scrub(f"echo {CREDENTIAL}", [cookie]) == "echo [credential]"
    basic = "Basic " + base64.b64encode(f"alice:{CREDENTIAL}".encode()).decode()
    assert CREDENTIAL not in scrub(f"password {CREDENTIAL} rejected", [basic])
    assert scrub("nothing to hide here", [bearer, cookie, basic]) == "nothing to hide here"
