"""Exit codes a CI job can rely on (issue 10, item 4): a dead or half-dead API fails by default.

0 gate passed on a complete scan · 1 findings/score failed the gate · 2 usage · 3 nothing scanned
or incomplete (unless --allow-incomplete) · 130 Ctrl-C. Every case runs the real CLI against real
servers on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from keywire.cli import main
from labs.raw import RawServer, closed_port
from labs.tlspki import make_ca, make_leaf, write_chain
from labs.tlsserver import SslLabServer

from .test_stalled_handshake import stall_silent


def oversized_handshake(conn: socket.socket, stop: threading.Event) -> None:
    """Answer every ClientHello with a handshake message announcing 3 MiB (over any bound)."""
    conn.settimeout(5)
    conn.recv(65536)
    conn.sendall(b"\x16\x03\x03\x00\x04\x02\x30\x00\x00")
    stop.wait(5)


def test_a_tls_family_that_could_not_run_fails_the_gate_with_3(runner):
    with RawServer(oversized_handshake) as server:
        url = f"https://127.0.0.1:{server.port}/"
        args = ["scan", url, "--only", "tls", "--timeout", "2", "--format", "json"]
        result = runner.invoke(main, args)
        allowed = runner.invoke(main, [*args, "--allow-incomplete"])
    assert result.exit_code == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["complete"] is False
    assert document["gate"]["passed"] is False
    # Without a certificate, revocation could not be checked either.
    assert document["gate"]["reasons"] == [
        "the scan is incomplete: 2 checks not tested (tls, revocation)"
    ]
    assert "incomplete scan: 2 checks not tested (tls, revocation)" in result.stderr
    assert "gate passed" not in result.stderr
    # --allow-incomplete judges what was tested: nothing at or above the gate.
    assert allowed.exit_code == 0, allowed.stderr
    assert json.loads(allowed.stdout)["gate"]["passed"] is True
    assert "gate passed on an incomplete scan" in allowed.stderr


def test_console_says_the_grade_covers_only_what_was_tested(runner):
    with RawServer(oversized_handshake) as server:
        result = runner.invoke(
            main, ["scan", f"https://127.0.0.1:{server.port}/", "--only", "tls", "--timeout", "2"]
        )
    assert result.exit_code == 3
    assert "Grade A (score 100/100, incomplete scan)" in result.stdout
    assert "INCOMPLETE: 2 checks not tested (tls, revocation)" in result.stdout
    assert "the grade covers only what was tested" in result.stdout


def test_findings_failing_the_gate_exit_1_even_when_incomplete(runner, lab_api):
    """Precedence: a real finding at or above --fail-on is 1, whatever else happened."""
    api = lab_api(hsts=None)  # KW140, medium
    with closed_port() as port:
        result = runner.invoke(
            main,
            [
                "scan",
                api.https.url + "/v1/resource",
                f"http://127.0.0.1:{port}/v1/resource",  # not scanned
                "--http-port",
                str(api.http.port),
                "--ca-file",
                api.ca_file,
                "--timeout",
                "3",
                "--fail-on",
                "medium",
            ],
        )
    assert result.exit_code == 1, result.stderr
    assert "gate failed: 1 finding at or above medium" in result.stderr
    assert "the scan is also incomplete: 1 target not scanned" in result.stderr


def test_stalled_https_side_with_skip_tls_does_not_pass(runner, lab_api):
    """Item 3's CLI case: --skip tls no longer hides a stalled HTTPS side behind grade A, exit 0."""
    api = lab_api()
    with RawServer(stall_silent) as stall:
        result = runner.invoke(
            main,
            [
                "scan",
                api.http.url + "/v1/resource",
                "--https-port",
                str(stall.port),
                "--skip",
                "tls",
                "--timeout",
                "1",
            ],
        )
    assert result.exit_code == 3, result.stderr
    assert "INCOMPLETE" in result.stdout
    assert "gate passed" not in result.stderr


@pytest.fixture(scope="module")
def big_certificate_server(tmp_path_factory):
    """A server whose certificate carries 10,000 subjectAltNames (a ~470 KB Certificate message)."""
    ca = make_ca("keywire lab big-SAN root")
    names = ["localhost"] + [
        f"name-{i:05d}.a-rather-longer-label.example.test" for i in range(10000)
    ]
    leaf = make_leaf(ca, names=names)
    directory = tmp_path_factory.mktemp("big-san")
    cert, key = write_chain(directory, "big", leaf)
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with SslLabServer(context) as server:
        yield server, ca_file


def test_a_certificate_message_of_10000_names_is_parsed(runner, big_certificate_server):
    server, ca_file = big_certificate_server
    result = runner.invoke(
        main,
        [
            "scan",
            f"https://127.0.0.1:{server.port}/",
            "--only",
            "tls",
            "--ca-file",
            str(ca_file),
            "--timeout",
            "5",
            "--format",
            "json",
        ],
    )
    document = json.loads(result.stdout)
    (target,) = document["targets"]
    assert target["outcomes"][0] == {"check": "tls", "status": "completed", "reason": ""}
    # The interoperability risk is a finding (KW625), not a scan failure.
    assert {f["rule_id"] for f in target["findings"]} == {"KW625"}
    (chain,) = target["details"]["tls"]["certificates"]
    assert len(chain["certificates"][0]["dns_names"]) == 10001
    assert chain["validation"]["trusted"] is True
    assert result.exit_code == 0, result.stderr


SPEC = """\
openapi: 3.0.3
info: {title: down, version: "1"}
servers:
  - url: https://127.0.0.1:%d/v1
paths:
  /items:
    get:
      responses:
        "200": {description: ok}
"""


def test_spec_scan_whose_only_endpoint_is_down_does_not_pass(runner, tmp_path):
    with closed_port() as port:
        spec = tmp_path / "openapi.yaml"
        spec.write_text(SPEC % port, encoding="utf-8")
        result = runner.invoke(main, ["scan", "--spec", str(spec), "--timeout", "2"])
    assert result.exit_code == 3, result.stderr
    assert "1 target not scanned" in result.stderr
    assert "gate passed" not in result.stderr


def test_allow_incomplete_from_the_configuration_file(runner, tmp_path, monkeypatch):
    (tmp_path / "keywire.toml").write_text("allow-incomplete = true\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with RawServer(oversized_handshake) as server:
        result = runner.invoke(
            main, ["scan", f"https://127.0.0.1:{server.port}/", "--only", "tls", "--timeout", "2"]
        )
    assert result.exit_code == 0, result.stderr


def test_ctrl_c_exits_130_without_a_traceback(tmp_path):
    """A real process and a real SIGINT: 130, as shells report an interrupted command."""
    with RawServer(stall_silent) as server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "keywire", "scan", f"https://127.0.0.1:{server.port}/"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 20
        while server.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the scan is under way
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=20)
        finally:
            process.kill()
    text = stderr.decode()
    assert process.returncode == 130, text
    assert "keywire: interrupted" in text
    assert "Traceback" not in text and "Aborted" not in text
    assert stdout == b""


def test_scan_help_documents_the_exit_codes(runner):
    text = runner.invoke(main, ["scan", "--help"]).stdout
    for line in ("0    the gate passed", "1    the gate failed", "3    nothing could be scanned"):
        assert line in text
    assert "130  interrupted (Ctrl-C)" in text
    assert "--allow-incomplete" in text
