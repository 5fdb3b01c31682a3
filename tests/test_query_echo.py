"""A redirect that keeps the query string is not an API reading keys from the URL (issue 10, item 1).

Flask's ``redirect(request.url.replace("http://", "https://", 1), 301)`` and nginx's
``return 301 https://$host$request_uri`` echo ``?api_key=<canary>`` in ``Location``; keywire
must not call that KW120. An API that really reacts to the parameters still gets KW120, once
per endpoint, listing the names it read.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify, redirect, request

from keywire import ScanOptions, parse_target, scan
from keywire.checks._compare import answers_differ, strip_echo
from keywire.lab import LabServer
from keywire.net.http import HttpResponse

OPTIONS = ScanOptions(timeout=3, scan_timeout=60, only=("query_keys",))


def _kw120(report):
    return [f for f in report.findings if f.rule_id == "KW120"]


def enforce_https_app() -> Flask:
    """The seed's enforce_https snippet, exactly as written."""
    app = Flask("redirect_keeps_query")

    @app.before_request
    def enforce_https():  # type: ignore[no-untyped-def]
        if not request.is_secure:
            url = request.url.replace("http://", "https://", 1)
            return redirect(url, code=301)
        return None

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        return jsonify(data="resource")

    return app


def test_flask_redirect_that_keeps_the_query_is_not_kw120():
    with LabServer(enforce_https_app()) as server:
        report = scan([parse_target(f"{server.url}/v1/resource")], options=OPTIONS)
    assert _kw120(report) == []
    (outcome,) = report.outcomes
    assert outcome.check == "query_keys" and outcome.status.value == "completed", outcome


def reads_keys_app() -> Flask:
    """Near-miss the other way: it redirects elsewhere when it sees a key in the URL."""
    app = Flask("reads_query_keys")

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        if request.args.get("api_key") or request.args.get("token"):
            return redirect("/login?error=invalid_key", code=302)
        return redirect("/login", code=302)

    return app


def test_redirect_whose_target_depends_on_the_key_is_one_kw120_listing_the_names():
    with LabServer(reads_keys_app()) as server:
        report = scan([parse_target(f"{server.url}/v1/resource")], options=OPTIONS)
    (finding,) = _kw120(report)
    evidence = dict(finding.evidence)
    assert evidence["parameters"] == "api_key, token"
    assert "`?api_key=<canary>`, `?token=<canary>`" in finding.message
    assert finding.location == "query-string"


# -- nginx: return 301 https://$host$request_uri ---------------------------------------------

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        return 301 https://$host$request_uri;
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx_redirect(tmp_path: Path, require_tools: bool) -> Iterator[int]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if binary is None:
        if require_tools:
            pytest.fail("nginx is required (KEYWIRE_REQUIRE_TOOLS=1)")
        pytest.skip("nginx is not installed")
    port = _free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=tmp_path, port=port), encoding="utf-8")
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(  # fixed arguments, our own config, loopback only
            [binary, "-p", str(tmp_path), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"nginx did not start: {log.read_text()[:500]}")
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_nginx_redirect_that_keeps_the_request_uri_is_not_kw120(nginx_redirect):
    target = parse_target(f"http://127.0.0.1:{nginx_redirect}/v1/resource")
    report = scan([target], options=OPTIONS)
    assert _kw120(report) == []
    exchanges = report.targets[0].details["exchanges"]
    assert any(e.get("status") == 301 for e in exchanges)  # nginx did answer, with its redirect


# -- the comparison itself -------------------------------------------------------------------

CANARY = "kw_canary_" + "0f" * 16


def _redirect(location: str, body: bytes = b"") -> HttpResponse:
    return HttpResponse(
        url="http://api.test/v1",
        method="GET",
        probe="t",
        status=301,
        reason="Moved",
        headers=(("Location", location),),
        body=body,
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.0,
    )


@pytest.mark.parametrize(
    ("baseline", "with_canary"),
    [
        ("https://api.test/v1", f"https://api.test/v1?api_key={CANARY}"),
        ("https://api.test/v1?page=2", f"https://api.test/v1?page=2&api_key={CANARY}"),
        ("https://api.test/v1?page=2", f"https://api.test/v1?api_key={CANARY}&page=2"),
        ("/login?next=%2Fv1", f"/login?next=%2Fv1%3Fapi_key%3D{CANARY}"),
    ],
)
def test_echoed_canary_in_location_is_no_difference(baseline, with_canary):
    body = f'<a href="{with_canary.replace("&", "&amp;")}">here</a>'.encode()
    assert not answers_differ(
        _redirect(baseline), _redirect(with_canary, body), CANARY, ["api_key"]
    )


def test_a_different_redirect_target_is_a_difference():
    assert answers_differ(
        _redirect("https://api.test/v1"), _redirect("https://api.test/denied"), CANARY, ["api_key"]
    )
    assert strip_echo(f"https://a.test/?api_key={CANARY}&x=1", CANARY, ["api_key"]) == (
        "https://a.test/?x=1"
    )
