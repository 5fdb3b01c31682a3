"""Shards of a fleet: by server (address and port), a target and its counterpart together."""

from __future__ import annotations

from keywire.fleet._pool import shard
from keywire.targets import parse_target

from .conftest import QUICK, children, ended, keywire, targets_of, wait_for


def _shares(urls: list[str], workers: int = 2, **ports: int) -> list[set[str]]:
    targets = [parse_target(url, **ports) for url in urls]
    return [set(share) for share in shard(targets, workers, {})]


def test_ports_of_one_address_are_servers_of_their_own():
    urls = [f"http://127.0.0.1:{port}/p{i}" for i in range(3) for port in (8001, 8002)]
    shares = _shares(urls)
    assert len(shares) == 2
    assert {frozenset(s) for s in shares} == {
        frozenset(u for u in urls if ":8001/" in u),
        frozenset(u for u in urls if ":8002/" in u),
    }


def test_a_target_and_the_counterpart_it_reaches_stay_in_one_share():
    # https://h/ reaches h:80 too, http://h/ reaches h:443: one group however many workers.
    urls = ["https://127.0.0.1/a", "http://127.0.0.1/b", "http://127.0.0.2/c"]
    assert _shares(urls, workers=3) == [{urls[0], urls[1]}, {urls[2]}]
    # --http-port links an https:// target on 8443 with the cleartext port it names.
    linked = ["https://127.0.0.1:8443/a", "http://127.0.0.1:8080/b"]
    assert _shares(linked, http_port=8080) == [set(linked)]
    assert len(_shares(linked)) == 2  # no --http-port: 8443 reaches nothing else


def test_a_fleet_on_the_ports_of_one_address_uses_the_workers(fleet, tmp_path):
    server = fleet(delay=lambda path: 0.3)
    listeners = [server.listeners[0], server.listen()]
    urls = [server.url_of(listener, f"/w{i}") for i in range(8) for listener in listeners]
    out = tmp_path / "results.jsonl"
    process = keywire(
        "scan", *QUICK, "--workers", "2", "--max-targets", "2", "-o", f"jsonl:{out}", *urls
    )
    try:
        wait_for(lambda: len(children(process.pid)) == 1 or process.poll() is not None)
        assert process.poll() is None and len(children(process.pid)) == 1
        _, err = process.communicate(timeout=120)
    finally:
        ended(process)
    assert process.returncode == 0, err.decode()
    assert sorted(targets_of(out)) == sorted(urls)
