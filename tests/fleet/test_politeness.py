"""Politeness keyed by server (address and port), a global cap, retries for connection failures
only, and --resolve (a name at a chosen address, with its SNI and Host)."""

from __future__ import annotations

import asyncio
import json
import ssl
import time

import pytest

from keywire import ScanOptions, StaticResolver, scan
from keywire.cli import main
from keywire.net.http import ClientSettings, FailureKind, FetchFailure, HttpClient, retryable
from keywire.net.pins import PinError, parse_pin, parse_pins
from keywire.net.politeness import RetryPolicy
from labs import raw
from labs.tlspki import make_ca, make_leaf, write_chain

from .conftest import QUICK, keywire


def test_names_that_lead_to_one_server_share_its_connection_cap(fleet):
    server = fleet(delay=lambda path: 0.2)
    names = [f"api{i}.fleet.test" for i in range(10)]
    pins = [f"{name}:{server.port}:127.0.0.1" for name in names]
    urls = [f"http://{name}:{server.port}/n" for name in names]
    process = keywire(
        "scan", *QUICK, "--per-host", "2", "--workers", "2", "--max-targets", "10",
        *[arg for pin in pins for arg in ("--resolve", pin)], "--format", "json", *urls,
    )  # fmt: skip
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert all(t["scanned"] for t in json.loads(out)["targets"])
    assert server.open_peak[("127.0.0.1", server.port)] == 2
    assert sum(server.host_headers.values()) >= len(names)
    assert {h.split(":")[0] for h in server.host_headers} == set(names)


def test_every_port_is_a_server_of_its_own_and_the_global_cap_holds_over_them(fleet):
    server = fleet(delay=lambda path: 0.2)
    listeners = [server.listeners[0]] + [server.listen() for _ in range(5)]
    urls = [server.url_of(listener, f"/g{i}") for i, listener in enumerate(listeners * 2)]
    options = ScanOptions(only=("cleartext",), per_host=5, max_connections=3, max_targets=12)
    report = scan(urls, options=options)
    assert all(t.scanned for t in report.targets)
    assert server.total_peak == 3
    # Without the global cap, the servers are reached side by side.
    server.total_peak = 0
    scan(urls, options=ScanOptions(only=("cleartext",), per_host=1, max_targets=12))
    assert server.total_peak == len(listeners)


def _fetch(url: str, retries: int, warm: str | None = None):
    async def go():
        async with HttpClient(ClientSettings(timeout=5, retries=retries)) as http:
            if warm is not None:  # the client's first request pays for loading it
                await http.fetch(warm, probe="warm-up")
            started = time.perf_counter()
            fetched = await http.fetch(url, probe="test")
            return fetched, time.perf_counter() - started

    return asyncio.run(go())


def test_a_connection_reset_before_any_answer_is_retried_with_backoff(fleet):
    server = fleet(flaky=1)
    fetched, _ = _fetch(f"{server.url}/flaky", retries=1)
    assert not isinstance(fetched, FetchFailure) and fetched.status == 200
    assert server.resets["/flaky"] == 1 and server.requests["/flaky"] == 2
    fetched, _ = _fetch(f"{server.url}/other", retries=0)
    assert isinstance(fetched, FetchFailure) and fetched.kind is FailureKind.RESET


def test_an_answer_or_a_refusal_is_never_retried(fleet):
    server = fleet()
    with raw.closed_port() as port:
        fetched, elapsed = _fetch(f"http://127.0.0.1:{port}/", retries=3, warm=server.url)
    assert isinstance(fetched, FetchFailure) and fetched.kind is FailureKind.REFUSED
    assert elapsed < RetryPolicy().base / 2  # not even the shortest backoff was waited
    fetched, _ = _fetch(f"{server.url}/once", retries=3)
    assert server.requests["/once"] == 1
    assert not retryable(FailureKind.TIMEOUT, "read timed out")
    assert not retryable(FailureKind.CONNECT_TIMEOUT, "connect timed out")
    assert retryable(
        FailureKind.OTHER, "cannot connect: [Errno 99] Cannot assign requested address"
    )


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base=0.25, cap=1.0)
    for attempt, ceiling in ((1, 0.25), (2, 0.5), (3, 1.0), (8, 1.0)):
        for _ in range(20):
            assert ceiling / 2 <= policy.delay(attempt) <= ceiling


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("api.test:443:127.0.0.1", ("api.test", 443, ("127.0.0.1",))),
        ("+API.Test.:8443:127.0.0.2,[::1]", ("api.test", 8443, ("127.0.0.2", "::1"))),
    ],
)
def test_resolve_entries_follow_curl(entry, expected):
    assert parse_pin(entry) == expected


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("api.test:443", "expected HOST:PORT:ADDRESS"),
        ("api.test:http:127.0.0.1", "is not a port"),
        ("api.test:0:127.0.0.1", "is not a port"),
        ("api.test:443:lab.test", "is not an IP address"),
        ("[::1]:443:127.0.0.1", "pin a host name"),
        ("a/b:443:127.0.0.1", "is not a host name"),
    ],
)
def test_a_bad_resolve_entry_is_a_usage_error(runner, entry, why):
    with pytest.raises(PinError, match=why):
        parse_pin(entry)
    result = runner.invoke(main, ["scan", "--resolve", entry, "https://api.test/"])
    assert result.exit_code == 2 and why in result.stderr


def test_one_name_cannot_be_pinned_to_two_servers():
    with pytest.raises(PinError, match="already pinned"):
        parse_pins(["a.test:443:127.0.0.1", "a.test:80:127.0.0.2"])
    assert parse_pins(["a.test:443:127.0.0.1", "a.test:80:127.0.0.1"]) == {"a.test": ("127.0.0.1",)}


def test_resolve_scans_a_name_at_the_chosen_address_with_its_sni_and_host(fleet, tmp_path):
    ca = make_ca()
    leaf = make_leaf(ca, names=["api.fleet.test"], ips=[])
    cert, key = write_chain(tmp_path, "leaf", leaf)
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = fleet(tls=context, hsts=True)
    url = f"https://api.fleet.test:{server.port}/v1"
    process = keywire(
        "scan", "--no-config", "--fail-on", "none", "--skip", "revocation", "--ca-file",
        str(tmp_path / "ca.pem"), "--resolve", f"api.fleet.test:{server.port}:127.0.0.1",
        "--format", "json", url,
    )  # fmt: skip
    out, err = process.communicate(timeout=120)
    document = json.loads(out)
    (target,) = document["targets"]
    assert target["scanned"], err.decode()
    assert set(server.server_names) == {"api.fleet.test"}
    assert set(server.host_headers) == {f"api.fleet.test:{server.port}"}
    rules = {f["rule_id"] for f in target["findings"]}
    assert not rules & {"KW601", "KW602", "KW605"}, rules  # trusted, and the name matches
    assert document["options"]["resolve"] == [f"api.fleet.test:{server.port}:127.0.0.1"]


def test_the_library_takes_pins_over_its_resolver(fleet):
    server = fleet()
    options = ScanOptions(only=("cleartext",), resolve=(f"lib.test:{server.port}:127.0.0.1",))
    report = scan(f"http://lib.test:{server.port}/x", options=options, resolver=StaticResolver({}))
    assert report.targets[0].scanned and server.host_headers[f"lib.test:{server.port}"] >= 1
