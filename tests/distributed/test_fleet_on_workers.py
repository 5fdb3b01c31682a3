"""A fleet scanned by real ``keywire worker`` processes on a real redis-server, on loopback:
exactly-once results through a killed worker, the same findings as a local run, fleet-wide
per-server caps, cancellation, deadlines."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from .conftest import free_port, keywire

QUICK = ("--only", "cleartext", "--fail-on", "none", "--no-config", "--no-store")

pytestmark = pytest.mark.tools


def _records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n")]


def _targets(path: Path) -> list[dict[str, object]]:
    return [r for r in _records(path) if r["record"] == "target"]


def _findings(records: list[dict[str, object]]) -> dict[object, list[tuple[str, str]]]:
    return {
        r["target"]: sorted((f["rule_id"], f["fingerprint"]) for f in r["findings"])  # type: ignore[attr-defined]
        for r in records
    }


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _write_targets(path: Path, urls: list[str]) -> Path:
    path.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    return path


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(fleet, workers, redis_url, tmp_path):
    server = fleet(delay=lambda path: 0.6)
    listeners = [server.listeners[0], *(server.listen() for _ in range(3))]
    urls = [server.url_of(listener, f"/t{i}") for listener in listeners for i in range(9)]
    targets = _write_targets(tmp_path / "fleet.txt", urls)
    crew = [workers("--threads", "3") for _ in range(3)]
    out = tmp_path / "distributed.jsonl"
    coordinator = keywire(
        "scan",
        "-i",
        str(targets),
        "--broker",
        redis_url,
        *QUICK,
        "-q",
        "--format",
        "jsonl",
        "-o",
        str(out),
    )
    try:
        _wait(lambda: len(_targets(out)) >= 4, 60, "the first records")
        assert coordinator.poll() is None, "the scan ended before a worker could be killed"
        crew[0].send_signal(signal.SIGKILL)
        _stdout, stderr = coordinator.communicate(timeout=120)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.communicate()
    assert coordinator.returncode == 0, stderr.decode()
    assert crew[0].wait(5) == -signal.SIGKILL
    distributed = _targets(out)
    seen = Counter(r["target"] for r in distributed)
    assert sorted(seen) == sorted(urls), "a target was lost"
    assert set(seen.values()) == {1}, f"duplicated: {[t for t, n in seen.items() if n > 1]}"
    assert all(r["scanned"] for r in distributed), [r.get("error") for r in distributed]
    assert _records(out)[-1]["counts"] == {
        "targets": len(urls),
        "scanned": len(urls),
        "not_scanned": 0,
    }
    scanned_twice = dict(server.requests)
    local_out = tmp_path / "local.jsonl"
    local = subprocess.run(
        [
            "python",
            "-m",
            "keywire",
            "scan",
            "-i",
            str(targets),
            *QUICK,
            "-q",
            "--format",
            "jsonl",
            "-o",
            str(local_out),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert local.returncode == 0, local.stderr.decode()
    assert _findings(distributed) == _findings(_targets(local_out))
    once = {path: server.requests[path] - scanned_twice.get(path, 0) for path in server.requests}
    # The killed worker's targets in flight were scanned again by another (their records once).
    assert any(scanned_twice[p] > once[p] for p in once), "no target was redelivered"
    left = redis.Redis.from_url(redis_url)
    assert not left.keys("keywire:*:job"), "the scan's job outlived it"


def test_per_server_caps_hold_across_every_worker(fleet, workers, redis_url, tmp_path):
    server = fleet(delay=lambda path: 0.3)
    urls = [f"{server.url}/p{i}" for i in range(24)]
    targets = _write_targets(tmp_path / "fleet.txt", urls)
    for _ in range(3):
        workers("--threads", "4")
    result = subprocess.run(
        [
            "python",
            "-m",
            "keywire",
            "scan",
            "-i",
            str(targets),
            "--broker",
            redis_url,
            *QUICK,
            "-q",
            "--per-host",
            "2",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    listener = server.listeners[0]
    assert server.open_peak[listener] == 2  # reached, never passed, by 12 threads on 3 workers


def test_ctrl_c_cancels_the_scans_outstanding_messages(fleet, workers, redis_url, tmp_path):
    server = fleet(delay=lambda path: 0.5)
    urls = [f"{server.url}/c{i}" for i in range(60)]
    targets = _write_targets(tmp_path / "fleet.txt", urls)
    workers("--threads", "2")
    out = tmp_path / "cancelled.jsonl"
    coordinator = keywire(
        "scan",
        "-i",
        str(targets),
        "--broker",
        redis_url,
        *QUICK,
        "-q",
        "--format",
        "jsonl",
        "-o",
        str(out),
    )
    try:
        _wait(lambda: len(_targets(out)) >= 2, 60, "the first records")
        coordinator.send_signal(signal.SIGINT)
        coordinator.communicate(timeout=30)
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.communicate()
    assert coordinator.returncode == 130
    client = redis.Redis.from_url(redis_url)
    assert not client.keys("keywire:*:job"), "the scan's job outlived its cancellation"
    # Connections the workers still held are closed as their targets stop: their leases go.
    _wait(lambda: not client.keys("keywire:*"), 10, "the scan's last keys to go")
    _wait(lambda: client.llen("dramatiq:keywire") == 0, 30, "the queue to drain")
    time.sleep(1.5)  # a target being scanned sees its scan is over within a second
    settled = sum(server.requests.values())
    time.sleep(1.5)
    assert sum(server.requests.values()) == settled, "cancelled targets are still being scanned"
    scanned = {p for p in server.requests if p.startswith("/c")}
    assert len(scanned) < len(urls) / 2, "the cancelled scan went on"


def test_without_workers_the_scan_deadline_reports_every_target(fleet, redis_url, tmp_path):
    server = fleet()
    urls = [f"{server.url}/d{i}" for i in range(5)]
    result = subprocess.run(
        [
            "python",
            "-m",
            "keywire",
            "scan",
            *urls,
            "--broker",
            redis_url,
            *QUICK,
            "--scan-timeout",
            "2",
            "--format",
            "jsonl",
            "--allow-incomplete",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    targets = [r for r in records if r["record"] == "target"]
    assert sorted(r["target"] for r in targets) == sorted(urls)
    assert {r["error"] for r in targets} == {"the scan deadline was reached before it started"}
    assert records[-1]["complete"] is False
    # Nobody took the messages: each is (scan id, URL), with the target deadline plus a margin
    # as its time limit.
    queued = redis.Redis.from_url(redis_url).hvals("dramatiq:keywire.msgs")
    messages = [json.loads(m) for m in queued]
    assert sorted(m["args"][1] for m in messages) == sorted(urls)
    assert {len(m["args"]) for m in messages} == {2} and not any(m["kwargs"] for m in messages)
    assert {m["options"]["time_limit"] for m in messages} == {(300 + 60) * 1000}


def test_a_mixed_fleet_gets_the_same_findings_as_a_local_run(
    fleet, lab_api, workers, redis_url, tmp_path
):
    """The full default scan of HTTPS and cleartext APIs, an answering one and a dead port."""
    conformant = lab_api()
    leaky = lab_api(refuse_cleartext=False, hsts=None, query_key=True)
    plain = fleet()
    dead = free_port()
    urls = [
        conformant.https.url + "/v1/resource",
        leaky.https.url + "/v1/resource",
        leaky.http.url + "/v1/resource",
        f"{plain.url}/plain",
        f"http://127.0.0.1:{dead}/nothing-listens",
    ]
    targets = _write_targets(tmp_path / "mixed.txt", urls)
    common = ["scan", "-i", str(targets), "--ca-file", conformant.ca_file, "--fail-on", "none",
              "--no-config", "--no-store", "-q", "--allow-incomplete", "--format", "jsonl"]  # fmt: skip
    for _ in range(3):
        workers("--threads", "2")
    spread = subprocess.run(
        [sys.executable, "-m", "keywire", *common, "--broker", redis_url],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    local = subprocess.run(
        [sys.executable, "-m", "keywire", *common],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert spread.returncode == local.returncode, spread.stderr.decode()

    def by_target(stdout: bytes) -> dict[str, tuple[object, ...]]:
        records = [json.loads(line) for line in stdout.splitlines()]
        return {
            r["target"]: (
                r["scanned"],
                r.get("error", ""),
                sorted((f["rule_id"], f["fingerprint"]) for f in r["findings"]),
                sorted((o["check"], o["status"]) for o in r["outcomes"]),
            )
            for r in records
            if r["record"] == "target"
        }

    distributed, alone = by_target(spread.stdout), by_target(local.stdout)
    assert sorted(distributed) == sorted(urls)
    assert distributed == alone
    assert any(findings for _s, _e, findings, _o in distributed.values())  # something to compare
    assert distributed[urls[-1]][0] is False  # the dead port: not scanned, the same reason


def test_at_the_scan_deadline_a_target_in_progress_ends_as_it_would_locally(
    fleet, workers, redis_url
):
    server = fleet(delay=lambda path: None if path == "/stalls" else 0.0)
    urls = [f"{server.url}/stalls", f"{server.url}/quick"]
    workers("--threads", "2")

    def run(*extra: str) -> dict[str, tuple[object, ...]]:
        result = subprocess.run(
            [sys.executable, "-m", "keywire", "scan", *urls, *QUICK, "--scan-timeout", "4",
             "--allow-incomplete", "--format", "jsonl", *extra],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        records = [json.loads(line) for line in result.stdout.splitlines()]
        return {
            r["target"]: (r["scanned"], r.get("error", ""), [o["status"] for o in r["outcomes"]])
            for r in records
            if r["record"] == "target"
        }

    distributed, local = run("--broker", redis_url), run()
    assert distributed == local
    assert distributed[urls[1]][0] is True
    assert distributed[urls[0]][1] == "not tested: the scan deadline was reached"
