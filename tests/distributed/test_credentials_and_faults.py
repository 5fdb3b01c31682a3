"""Credentials stay on the workers (never in Redis, a record or a log), a target that keeps
killing its worker ends as not tested, and keywire works without the distributed extra."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis

from .conftest import keywire, worker_logs

pytestmark = pytest.mark.tools


class Monitor:
    """Every command Redis receives while it runs (Redis's own MONITOR), as raw bytes."""

    def __init__(self, url: str) -> None:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        self._sock.sendall(b"MONITOR\r\n")
        self.seen = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                return
            self.seen += data

    def stop(self) -> bytes:
        time.sleep(0.3)
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        return bytes(self.seen)


def _everything_in(url: str) -> bytes:
    """Every key and value in Redis (strings, hashes, lists, sets, sorted sets), as bytes."""
    client = redis.Redis.from_url(url)
    out = bytearray()
    for key in client.scan_iter("*"):
        kind = client.type(key)
        out += key
        if kind == b"string":
            out += client.get(key) or b""
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                out += field + value
        elif kind == b"list":
            out += b"".join(client.lrange(key, 0, -1))
        elif kind == b"set":
            out += b"".join(client.smembers(key))
        elif kind == b"zset":
            out += b"".join(client.zrange(key, 0, -1))
    return bytes(out)


def test_a_credential_never_reaches_redis_a_record_or_a_log(lab_api, workers, redis_url, tmp_path):
    key = f"kwtest-{secrets.token_hex(16)}"
    api = lab_api(valid_keys=(key,))
    monitor = Monitor(redis_url)
    workers("-vv", "--header-env", "X-API-Key=KW_LAB_KEY", env={"KW_LAB_KEY": key})
    out = tmp_path / "scan.jsonl"
    target = api.https.url + "/v1/resource"
    common = [
        "--header", f"X-API-Key: {key}", "--http-port", str(api.http.port),
        "--ca-file", api.ca_file, "--fail-on", "none", "--no-config", "--no-store",
    ]  # fmt: skip
    coordinator = keywire(
        "scan", target, "--broker", redis_url, *common, "-vv",
        "--format", "jsonl", "-o", str(out), "-o", f"json:{tmp_path / 'scan.json'}",
    )  # fmt: skip
    try:
        stdout, stderr = coordinator.communicate(timeout=120)
        during = _everything_in(redis_url)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
    commands = monitor.stop()
    assert coordinator.returncode == 0, stderr.decode()
    assert b"HSETNX" in commands.upper() and b"RPUSH" in commands.upper()  # the monitor saw it
    sent = [h for h in api.behaviour.seen if h.get("X-Api-Key") == key]
    assert sent and all(h["url"].startswith("https://") for h in sent)  # the worker's, over TLS
    for place, text in {
        "a Redis command": commands,
        "a Redis key or value": during,
        "the coordinator's output": stdout + stderr,
        "the stream": out.read_bytes(),
        "the JSON report": (tmp_path / "scan.json").read_bytes(),
        "a worker's log": worker_logs(tmp_path).encode(),
    }.items():
        assert key.encode() not in text, f"the credential is in {place}"
    local = subprocess.run(
        [sys.executable, "-m", "keywire", "scan", target, *common, "--format", "jsonl"],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr.decode()

    def findings(text: bytes) -> list[tuple[str, str]]:
        record = json.loads(text.splitlines()[0])
        return sorted((f["rule_id"], f["fingerprint"]) for f in record["findings"])

    assert findings(out.read_bytes()) == findings(local.stdout)


def test_a_worker_without_the_credential_says_so(lab_api, workers, redis_url):
    api = lab_api()
    workers()
    result = subprocess.run(
        [sys.executable, "-m", "keywire", "scan", api.https.url + "/v1/resource",
         "--broker", redis_url, "--header-env", "X-API-Key=KW_LAB_KEY", "--ca-file", api.ca_file,
         "--no-config", "--no-store", "--format", "jsonl", "--allow-incomplete"],
        capture_output=True, timeout=120, check=False,
        env={"KW_LAB_KEY": "kwtest-coordinator-only-0000", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    record = json.loads(result.stdout.splitlines()[0])
    assert record["scanned"] is False
    assert "no credential for header X-API-Key" in record["error"]
    assert "--header-env" in record["error"]
    assert b"kwtest-coordinator-only" not in result.stdout + result.stderr


def test_a_target_that_keeps_killing_its_worker_ends_not_tested(
    fleet, workers, redis_url, tmp_path
):
    server = fleet(delay=lambda path: 60.0 if path == "/poison" else 0.0)
    poison, fine = f"{server.url}/poison", f"{server.url}/fine"
    out = tmp_path / "scan.jsonl"
    coordinator = keywire(
        "scan", poison, fine, "--broker", redis_url, "--only", "cleartext", "--fail-on", "none",
        "--no-config", "--no-store", "-q", "--format", "jsonl", "-o", str(out),
        "--allow-incomplete",
    )  # fmt: skip
    client = redis.Redis.from_url(redis_url)

    def takes() -> int:
        keys = client.keys("keywire:*:attempts")
        return int(client.hget(keys[0], poison) or 0) if keys else 0

    try:
        for kill in range(1, 4):  # each worker dies while scanning the poison target
            worker = workers("--threads", "1")
            deadline = time.monotonic() + 60
            while takes() < kill or server.requests["/poison"] < kill:
                assert time.monotonic() < deadline, f"take {kill} never came"
                time.sleep(0.05)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        workers("--threads", "1")
        coordinator.communicate(timeout=90)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.communicate()
    assert coordinator.returncode == 0
    records = {
        r["target"]: r
        for r in map(json.loads, out.read_text().splitlines())
        if r["record"] == "target"
    }
    assert records[fine]["scanned"] is True
    assert records[poison]["scanned"] is False
    assert records[poison]["error"].startswith("not tested: ")
    assert "3 times" in records[poison]["error"]
    assert server.requests["/poison"] == 3  # never tried a fourth time


_NO_EXTRA = """
import sys
sys.modules["dramatiq"] = None  # as if keywire[distributed] were not installed
import keywire, keywire.distributed, keywire.fleet
assert "redis" not in sys.modules
from keywire.cli import main
sys.argv = ["keywire"] + sys.argv[1:]
main()
"""


def test_without_the_extra_keywire_works_and_broker_says_what_to_install(fleet):
    server = fleet()
    for args in (
        ["scan", f"{server.url}/x", "--broker", "redis://127.0.0.1:9/0", "--no-config"],
        ["worker", "--broker", "redis://127.0.0.1:9/0"],
    ):
        result = subprocess.run(
            [sys.executable, "-c", _NO_EXTRA, *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "pip install '.[distributed]'" in result.stderr
    local = subprocess.run(
        [sys.executable, "-c", _NO_EXTRA, "scan", f"{server.url}/x", "--only", "cleartext",
         "--fail-on", "none", "--no-config", "--no-store", "-q"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--broker", "http://:s3cret-pw@127.0.0.1:6379/0"], "--broker takes redis://"),
        (["--broker", "redis://127.0.0.1:6379/0", "--spec", "api.yaml"], "a --spec scan runs"),
        (
            ["--broker", "redis://127.0.0.1:6379/0", "--save-observations", "obs.json"],
            "--save-observations keeps the scan on this machine",
        ),
    ],
)
def test_a_broker_that_cannot_work_is_a_usage_error(args, message):
    result = subprocess.run(
        [sys.executable, "-m", "keywire", "scan", "https://127.0.0.1:9/", *args, "--no-config"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr
    assert "s3cret-pw" not in result.stderr
