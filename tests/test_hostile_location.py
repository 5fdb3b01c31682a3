"""A ``Location`` no client can follow is a redirect finding (KW103), never "not scanned".

httpx parses a redirect's Location even with redirects off, and raised on these values: the
response was lost and the whole target reported as unreachable.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest
from click.testing import CliRunner

from keywire import OutcomeStatus, ScanOptions, scan
from keywire.cli import main
from keywire.net.http import ChainEnd, ClientSettings, HttpClient, HttpResponse
from keywire.redact import redact_url
from keywire.targets import location_problem
from labs import raw

OPTIONS = ScanOptions(timeout=2.0, scan_timeout=20.0, only=("cleartext", "redirects"))

HOSTILE = {
    "javascript": b"javascript:alert(document.cookie)",
    "data": b"data:text/html;base64,PHNjcmlwdD4=",
    "control": b"http://evil\x01host/",
    "escape": b"\x1b]0;owned\x07",
    "bad-port": b"https://127.0.0.1:99999/v1",
    "port-zero": b"https://127.0.0.1:0/v1",
    "word-port": b"https://127.0.0.1:https/v1",
    "ipv6-garbage": b"http://[::1/",
    "no-host": b"http://@/",
    "space-in-host": b"https://api example/v1",
}


def _redirecting(location: bytes) -> raw.Handler:
    def handler(conn: socket.socket, stop: threading.Event) -> None:
        raw.read_request(conn)
        conn.sendall(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: "
            + location
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )

    return handler


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_unparseable_location_is_kw103_and_the_scan_goes_on(name):
    location = HOSTILE[name]
    with raw.RawServer(_redirecting(location)) as server:
        report = scan(server.url + "/v1", options=OPTIONS)
    target = report.targets[0]
    assert target.scanned, target.error
    outcomes = {o.check: o for o in target.outcomes}
    assert outcomes["redirects"].status is OutcomeStatus.COMPLETED, outcomes["redirects"].reason
    (kw103,) = [f for f in target.findings if f.rule_id == "KW103"]
    evidence = dict(kw103.evidence)
    shown = evidence["location"]
    assert "no client can follow" in kw103.message and evidence["problem"] in kw103.message
    # The raw value, redacted and escaped: every byte is there, none is a control character.
    assert all(c.isprintable() for c in kw103.message + shown)
    assert shown == "".join(
        c if c.isprintable() else ascii(c)[1:-1] for c in redact_url(location.decode("latin-1"))
    )


def test_the_cli_reports_it_and_exits_on_the_finding(tmp_path):
    with raw.RawServer(_redirecting(HOSTILE["escape"])) as server:
        result = CliRunner().invoke(
            main,
            ["scan", server.url + "/v1", "--only", "redirects", "--format", "json"],
        )
    document = json.loads(result.stdout)
    (target,) = document["targets"]
    assert target["scanned"] is True
    assert "KW103" in {f["rule_id"] for f in target["findings"]}
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_the_client_keeps_the_raw_location_and_the_chain_ends_invalid():
    async def run(url: str) -> tuple[object, object]:
        async with HttpClient(ClientSettings(timeout=2.0)) as http:
            return await http.fetch(url, probe="t"), await http.follow(url, probe="t")

    with raw.RawServer(_redirecting(HOSTILE["control"])) as server:
        fetched, chain = asyncio.run(run(server.url + "/"))
    assert isinstance(fetched, HttpResponse)
    assert fetched.status == 301 and fetched.header("location") == "http://evil\x01host/"
    assert chain.end is ChainEnd.INVALID and chain.next_url == "http://evil\x01host/"


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("https://api.example/v1", None),
        ("http://127.0.0.1:8080/x?y=1", None),
        ("javascript:alert(1)", "its scheme is 'javascript', not http or https"),
        ("https://a.example:70000/", "its port is not a number from 1 to 65535"),
        ("https://a.example\x00/", "it contains control characters"),
        ("http:///path", "it has no host"),
    ],
)
def test_location_problem(location, problem):
    assert location_problem(location) == problem
