"""Hostile servers end as "not tested (reason)" within the deadline: no traceback, no hang, bounded memory."""

from __future__ import annotations

import re
import time
import tracemalloc

import pytest

from keywire import OutcomeStatus, ScanOptions, StaticResolver, scan
from labs import raw

FAST = ScanOptions(timeout=1.0, scan_timeout=15.0, only=("cleartext", "redirects"))


def _run(url: str, options: ScanOptions = FAST):
    started = time.perf_counter()
    report = scan(url, options=options)
    return report, time.perf_counter() - started


@pytest.mark.parametrize(
    ("handler", "reason_part"),
    [
        (raw.silent, "timed out"),
        (raw.slow_drip, "no complete response within"),
        (raw.endless_headers, "malformed HTTP response"),
        (raw.random_bytes, "malformed HTTP response|without a response"),
        (raw.reset, "reset|without a response"),
    ],
    ids=["silent", "slow-drip", "endless-headers", "random-bytes", "reset"],
)
def test_hostile_server_is_not_tested_within_deadline(handler, reason_part):
    with raw.RawServer(handler) as server:
        report, elapsed = _run(server.url + "/")
    target = report.targets[0]
    assert not target.scanned
    assert re.search(reason_part, target.error), target.error
    assert elapsed < 8, f"took {elapsed:.1f}s"
    assert not report.complete
    assert report.score is None
    errors = [o for o in target.outcomes if o.status is OutcomeStatus.ERROR]
    assert errors and all(o.reason for o in errors)


def test_endless_body_is_capped_and_memory_bounded():
    tracemalloc.start()
    try:
        with raw.RawServer(raw.endless_body) as server:
            report, elapsed = _run(
                server.url + "/", ScanOptions(timeout=2.0, scan_timeout=15.0, body_cap=256 * 1024)
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    target = report.targets[0]
    assert target.scanned, target.error  # a capped body is still a response
    assert elapsed < 10
    assert peak < 32 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert "KW101" in {f.rule_id for f in report.findings}


def test_connection_refused_is_not_scanned():
    with raw.closed_port() as port:
        report, elapsed = _run(f"http://127.0.0.1:{port}/")
    assert not report.targets[0].scanned
    assert "refused" in report.targets[0].error
    assert elapsed < 5


def test_unresolvable_name_through_an_injected_resolver():
    resolver = StaticResolver({"api.lab.test": ["127.0.0.1"]})
    report = scan("https://unknown.lab.test/v1", options=FAST, resolver=resolver)
    target = report.targets[0]
    assert not target.scanned
    assert "cannot resolve unknown.lab.test" in target.error


def test_injected_resolver_maps_a_name_to_loopback(lab_api):
    api = lab_api()
    resolver = StaticResolver({"api.lab.test": ["127.0.0.1"]})
    report = scan(
        f"http://api.lab.test:{api.http.port}/v1/resource",
        options=FAST,
        resolver=resolver,
    )
    assert report.targets[0].scanned
    assert api.behaviour.seen[0]["Host"] == f"api.lab.test:{api.http.port}"


def test_invalid_tld_never_leaves_the_machine():
    report = scan("http://api.example.invalid/", options=FAST)
    assert "RFC 6761" in report.targets[0].error


def test_scan_deadline_marks_unfinished_checks_not_tested():
    with raw.RawServer(raw.silent) as server:
        report, elapsed = _run(
            server.url + "/", ScanOptions(timeout=30.0, scan_timeout=1.5, only=("cleartext",))
        )
    assert elapsed < 5
    outcome = report.targets[0].outcomes[0]
    assert outcome.status is OutcomeStatus.ERROR
    assert "deadline" in outcome.reason


def test_per_host_connection_cap_is_respected():
    """At most ``per_host`` requests are in flight to one host at any time."""
    import threading

    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def counting(conn, stop):
        # Counted from the request to just before its answer: a client slot is held at least that
        # long, so a count above the cap is the client's doing, never this thread's scheduling.
        raw.read_request(conn)
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            stop.wait(0.2)
        finally:
            with lock:
                state["now"] -= 1
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with raw.RawServer(counting) as server:
        targets = [f"{server.url}/path{i}" for i in range(6)]
        scan(
            targets, options=ScanOptions(timeout=5, per_host=2, only=("cleartext", "proxy_headers"))
        )
    assert state["max"] <= 2
    assert server.connections >= 6
