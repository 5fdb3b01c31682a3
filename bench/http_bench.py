"""The cleartext side: CPU per HTTP request, and scans of APIs with large bodies.

Run from the repository root with keywire installed:

    python bench/http_bench.py                 # both parts, default sizes
    python bench/http_bench.py --part request  # CPU per request only
    PYTHONPATH=/path/to/other/src python bench/http_bench.py   # the same against another tree

A loopback HTTP/1.1 server runs in a subprocess of its own (so its CPU is never counted as the
client's), on one or more loopback addresses (127.0.0.2, 127.0.0.3, ...: each target is its own
host, with its own per-host connection cap). It answers every request with 200 and a JSON body
whose first line changes with every response (a request ID and a time, as many APIs send), so
two answers are never byte-for-byte equal and every comparison of bodies has work to do.

**request**: in this process, N GETs (5 at a time per host, to 1 and to 20 hosts at once,
keep-alive where the client keeps it) of a small body through (a) raw asyncio streams (the floor: write a request, read a Content-Length
body), (b) a plain ``httpx.AsyncClient``, (c) httpx tamed: httpcore's pool directly, one per
host (no httpx import; install ``sniffio`` to spare httpcore a failing import per lock) and (d)
keywire's ``HttpClient.fetch``, alternating in rounds; CPU time of this thread (``RUSAGE_THREAD``) per request, and wall time. The number to
read is keywire's CPU per request.

**bodies**: ``keywire scan --format json`` (every default family) of T cleartext targets as a
whole process, once with small bodies and once with bodies of B MiB (more than the 1 MiB cap,
so each is read to the cap), alternating; wall time and the child's CPU time (``wait4``). The
number to read is large / small.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SERVER = r"""
import asyncio, json, os, random, sys, time

body_size = int(sys.argv[1])
everywhere = sys.argv[2] == "everywhere"
addresses = sys.argv[3:]
rng = random.Random(7)
items = []
size = 0
while size < body_size:
    item = {
        "id": rng.randrange(10**9),
        "uuid": "%032x" % rng.getrandbits(128),
        "name": "item %d of the catalogue" % len(items),
        "price": round(rng.random() * 1000, 2),
        "tags": ["alpha", "beta", "gamma"][: rng.randrange(1, 4)],
        "updated": 1700000000 + rng.randrange(10**7),
    }
    text = json.dumps(item)
    items.append(text)
    size += len(text) + 2
tail = ("[\n" + ",\n".join(items) + "\n]}\n").encode()
count = 0

async def serve(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            count += 1
            first = b'{"request_id": "%s", "served_at": %d, "items":\n' % (
                os.urandom(8).hex().encode(), time.time_ns())
            body, status = first + tail, b"200 OK"
            if not everywhere and not head.split(b" ", 2)[1].startswith(b"/v1/items"):
                body, status = first + b'"no such resource"}\n', b"404 Not Found"
            close = b"connection: close" in head.lower()
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n" % status +
                b"Content-Length: %d\r\n%s\r\n" % (len(body), b"Connection: close\r\n" if close else b"")
            )
            writer.write(body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()

async def main():
    servers = [await asyncio.start_server(serve, a, 0, backlog=1024) for a in addresses]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


class Server:
    """The loopback server subprocess; ``urls`` are its targets, one per address."""

    def __init__(self, body_size: int, count: int, *, everywhere: bool = False) -> None:
        addresses = [f"127.0.0.{i + 2}" for i in range(count)]
        where = "everywhere" if everywhere else "api"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(body_size), where, *addresses],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        ports = json.loads(self._proc.stdout.readline())
        self.urls = [f"http://{a}:{p}/v1/items" for a, p in zip(addresses, ports, strict=True)]

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def _workers(urls: Sequence[str], count: int) -> list[tuple[str, int]]:
    """5 workers per URL (keywire's default per-host cap), ``count`` requests in all."""
    per = max(1, count // (5 * len(urls)))
    return [(url, per) for url in urls for _ in range(5)]


async def _raw(urls: Sequence[str], count: int) -> None:
    from urllib.parse import urlsplit

    async def worker(url: str, n: int) -> None:
        parts = urlsplit(url)
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: bench\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for _ in range(n):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(worker(u, n) for u, n in _workers(urls, count)))


async def _httpx(urls: Sequence[str], count: int) -> None:
    import httpx

    async with httpx.AsyncClient() as client:

        async def worker(url: str, n: int) -> None:
            for _ in range(n):
                response = await client.get(url)
                assert response.status_code == 200

        await asyncio.gather(*(worker(u, n) for u, n in _workers(urls, count)))


async def _httpcore(urls: Sequence[str], count: int) -> None:
    """httpx tamed: httpcore's pool directly (no httpx, so no CLI import), one pool per host."""
    import httpcore

    pools = {url: httpcore.AsyncConnectionPool(max_connections=5) for url in urls}

    async def worker(url: str, n: int) -> None:
        for _ in range(n):
            response = await pools[url].request("GET", url)
            assert response.status == 200

    await asyncio.gather(*(worker(u, n) for u, n in _workers(urls, count)))
    for pool in pools.values():
        await pool.aclose()


async def _keywire(urls: Sequence[str], count: int) -> None:
    from keywire.net.http import ClientSettings, HttpClient, HttpResponse

    async with HttpClient(ClientSettings()) as client:

        async def worker(url: str, n: int) -> None:
            for _ in range(n):
                response = await client.fetch(url, probe="bench")
                assert isinstance(response, HttpResponse), response

        await asyncio.gather(*(worker(u, n) for u, n in _workers(urls, count)))


CLIENTS = {
    "raw asyncio streams": _raw,
    "plain httpx": _httpx,
    "httpcore pool per host": _httpcore,
    "keywire HttpClient": _keywire,
}


def per_request(runs: int, count: int, hosts: int) -> dict[str, tuple[list[float], list[float]]]:
    results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in CLIENTS}
    with Server(200, hosts) as server:
        url = server.urls
        for client in CLIENTS.values():  # warm-up: imports, first connections
            asyncio.run(client(url, 5 * hosts))
        for run in range(runs):
            order = list(CLIENTS.items())
            if run % 2:
                order.reverse()
            for name, client in order:
                cpu, wall = thread_cpu(), time.perf_counter()
                asyncio.run(client(url, count))
                sent = len(_workers(url, count)) * _workers(url, count)[0][1]
                results[name][0].append((thread_cpu() - cpu) / sent * 1000)
                results[name][1].append((time.perf_counter() - wall) / sent * 1000)
    return results


LAUNCHER = """
import os, sys, time
started = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


def measure(cmd: Sequence[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MiB, exit status) of ``cmd`` as a whole process."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd], capture_output=True, text=True, check=False
    )
    wall, cpu, rss, code = done.stdout.split()[-4:]
    return float(wall), float(cpu), int(rss) / 1024, int(code)


def bodies(
    runs: int, targets: int, body_mib: float, everywhere: bool
) -> dict[str, list[tuple[float, float, float, int]]]:
    """(wall, CPU, RSS, exchanges) per run of: one small target, all small, all large."""
    results: dict[str, list[tuple[float, float, float, int]]] = {
        "one": [],
        "small": [],
        "large": [],
    }
    out = f"/tmp/keywire-http-bench-{secrets.token_hex(4)}.json"
    with (
        Server(200, targets, everywhere=everywhere) as small,
        Server(int(body_mib * 1024 * 1024), targets, everywhere=everywhere) as large,
    ):
        cases = {"one": small.urls[:1], "small": small.urls, "large": large.urls}
        for run in range(runs + 1):
            order = ["one", "small", "large"] if run % 2 else ["large", "small", "one"]
            for name in order:
                # One process: the cost per exchange, not that of starting worker processes
                # (a fleet of 50 would get a second one; bench/fleet_bench.py measures fleets).
                cmd = [
                    sys.executable, "-m", "keywire.cli", "scan", "--format", "json",
                    "--fail-on", "none", "--workers", "1", "--output", out, *cases[name],
                ]  # fmt: skip
                wall, cpu, rss, code = measure(cmd)
                report = json.loads(open(out, encoding="utf-8").read())  # noqa: SIM115
                scanned = sum(1 for t in report["targets"] if t["scanned"])
                requests = sum(len(t["details"].get("exchanges", ())) for t in report["targets"])
                print(
                    f"  {name:5} run {run}: {wall:6.2f}s wall {cpu:6.2f}s CPU {rss:5.0f} MiB, "
                    f"exit {code}, {scanned}/{len(cases[name])} scanned, {requests} exchanges",
                    file=sys.stderr,
                )
                if run:  # the first round is a warm-up
                    results[name].append((wall, cpu, rss, requests))
    os.unlink(out)
    return results


def main() -> int:
    # Each run records into a store of its own, as a first scan does: the user's default store
    # holds the history of every earlier run, and its size is not what is measured here.
    os.environ.setdefault(
        "KEYWIRE_STORE", str(Path(tempfile.mkdtemp(prefix="keywire-bench-store-")) / "keywire.db")
    )
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("all", "request", "bodies"), default="all")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500, help="requests per run and client")
    parser.add_argument(
        "--hosts", type=int, nargs="+", default=[1, 20], help="hosts served at once (default 1 20)"
    )
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--body-mib", type=float, default=1.05)
    parser.add_argument(
        "--everywhere",
        action="store_true",
        help="the large body on every path (default: on the API's path; other paths get a 404)",
    )
    args = parser.parse_args()
    import keywire

    print(f"keywire from {os.path.dirname(keywire.__file__)}", file=sys.stderr)
    if args.part in ("all", "request"):
        for hosts in args.hosts:
            results = per_request(args.runs, args.requests, hosts)
            print(
                f"\nCPU per request ({args.requests} GETs to {hosts} host(s), 5 at a time per "
                f"host, {args.runs} runs, medians):"
            )
            print("| client | CPU per request | wall per request |\n|---|---|---|")
            for name, (cpu, wall) in results.items():
                print(
                    f"| {name} | {statistics.median(cpu):.3f} ms | {statistics.median(wall):.3f} ms |"
                )
    if args.part in ("all", "bodies"):
        found = bodies(args.runs, args.targets, args.body_mib, args.everywhere)
        where = "every path" if args.everywhere else "the API path (other paths: a small 404)"
        print(
            f"\n`keywire scan` of {args.targets} cleartext targets, whole process, large bodies on "
            f"{where} ({args.runs} runs, medians):"
        )
        print("| targets | bodies | wall | CPU | peak RSS | exchanges |\n|---|---|---|---|---|---|")
        for name, rows in found.items():
            size = f"{args.body_mib:g} MiB" if name == "large" else "small (~300 B)"
            count = 1 if name == "one" else args.targets
            wall, cpu, rss = (statistics.median(r[i] for r in rows) for i in range(3))
            print(
                f"| {count} | {size} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MiB | {rows[0][3]} |"
            )
        one, many = found["one"], found["small"]
        per_exchange = (
            (statistics.median(r[1] for r in many) - statistics.median(r[1] for r in one))
            / (many[0][3] - one[0][3])
            * 1000
        )
        print(
            f"\nCPU per HTTP exchange, every check's work included ({args.targets} small targets "
            f"minus 1): {per_exchange:.2f} ms"
        )
        ratio = statistics.median(r[0] for r in found["large"]) / statistics.median(
            r[0] for r in found["small"]
        )
        cpu_ratio = statistics.median(r[1] for r in found["large"]) / statistics.median(
            r[1] for r in found["small"]
        )
        print(f"\nlarge / small: {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
