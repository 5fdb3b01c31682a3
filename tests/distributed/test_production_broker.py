"""The production settings docs/distributed.md gives: Redis with a password and TLS only
(``rediss://``), the password from ``KEYWIRE_BROKER_PASSWORD``, never printed."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time

import pytest
import redis

from labs.tlspki import make_ca, make_leaf, write_chain

from .conftest import free_port, keywire

pytestmark = pytest.mark.tools


def test_a_scan_over_a_tls_only_password_protected_broker(fleet, tmp_path, require_tools):
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        if require_tools:
            pytest.fail("redis-server is required (KEYWIRE_REQUIRE_TOOLS=1)")
        pytest.skip("redis-server is not installed (Debian: apt install redis-server)")
    ca = make_ca("keywire test broker CA")
    cert, key = write_chain(tmp_path, "redis", make_leaf(ca, names=["localhost"]))
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    password = f"kwpw-{secrets.token_hex(12)}"
    port = free_port()
    broker = subprocess.Popen(
        [server_binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(tmp_path / "ca.pem"), "--tls-auth-clients", "no",
         "--requirepass", password, "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tmp_path / 'ca.pem'}"
    env = {"KEYWIRE_BROKER_PASSWORD": password}
    worker = None
    try:
        client = redis.Redis.from_url(url, password=password)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server (TLS) did not start"
                time.sleep(0.1)
        with pytest.raises(redis.ConnectionError):  # no cleartext listener
            redis.Redis(host="127.0.0.1", port=port, password=password).ping()
        log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
        worker = keywire("worker", "--broker", url, env=env, stdout=log, stderr=log)
        log.close()
        lab = fleet()
        urls = [f"{lab.url}/tls{i}" for i in range(4)]
        result = subprocess.run(
            [sys.executable, "-m", "keywire", "scan", *urls, "--broker", url, "--only",
             "cleartext", "--fail-on", "none", "--no-config", "--no-store", "--format", "jsonl"],
            capture_output=True, timeout=120, check=False,
            env={**__import__("os").environ, **env},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert sorted(r["target"] for r in records if r["record"] == "target") == sorted(urls)
        unauthenticated = subprocess.run(
            [sys.executable, "-m", "keywire", "scan", urls[0], "--broker", url, "--no-config",
             "--no-store"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert unauthenticated.returncode != 0
        everything = result.stdout + result.stderr + unauthenticated.stderr
        assert password.encode() not in everything
        assert b"Traceback" not in unauthenticated.stderr
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(40)
        broker.terminate()
        broker.wait(10)
    assert password.encode() not in (tmp_path / "worker.log").read_bytes()
    assert b"rediss://127.0.0.1" in (tmp_path / "worker.log").read_bytes()
