"""Does ``--scan-timeout`` bound the whole process? Wall time of ``keywire scan`` past its deadline.

Run from the repository root with keywire installed:

    python bench/deadline_bench.py                     # the three cases below, quick sizes
    python bench/deadline_bench.py --targets 10000 --fleet-timeout 120   # the issue's fleet case

Cases (loopback only; each is one ``keywire scan`` subprocess, start-up included):

* **TLS drip**: one https:// target that accepts a ClientHello and then sends a TLS record one
  byte every 0.3 s, ``--scan-timeout 8 --timeout 10`` (before the fix: 19 s);
* **stalled DNS**: a name whose lookup never answers (``socket.getaddrinfo`` is replaced in the
  child so no query leaves the machine), ``--scan-timeout 4 --timeout 30``;
* **fleet**: N targets (distinct paths) on one loopback API that answers every request at once
  with a 403 (a conformant cleartext refusal), so the scan is busy until the deadline, 5
  connections per host. Also reports the child's peak RSS.

The number to read is the overrun: wall time minus ``--scan-timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

STALLED_DNS = """
import socket, time
_real = socket.getaddrinfo
def _stalled(host, *args, **kwargs):
    if str(host).endswith(".stall.keywire-lab.test"):
        time.sleep(60)
        raise socket.gaierror(socket.EAI_NONAME, "no answer")
    return _real(host, *args, **kwargs)
socket.getaddrinfo = _stalled
"""


class _Loop(threading.Thread):
    """An asyncio loop in a thread, serving raw TCP on 127.0.0.1."""

    def __init__(self, handler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.loop = asyncio.new_event_loop()
        self.handler = handler
        self.ready = threading.Event()
        self.port = 0

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self.handler, "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        self.join(5)


@contextlib.contextmanager
def serve(handler) -> Iterator[int]:  # type: ignore[no-untyped-def]
    thread = _Loop(handler)
    thread.start()
    thread.ready.wait(5)
    try:
        yield thread.port
    finally:
        thread.stop()


async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on the connection with 403 (keep-alive), until the client leaves."""
    with contextlib.suppress(
        OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError
    ):
        while True:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                b"Content-Length: 27\r\n\r\n"
                b'{"error": "https required"}'
            )
            await writer.drain()
    writer.close()


async def tls_drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await reader.read(4096)
        for byte in bytes.fromhex("1603030400") + b"\x02" * 1024:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.3)
    writer.close()


def run(args: list[str], prelude: str = "") -> tuple[float, int, float]:
    """Wall time, exit code and peak RSS (MiB) of one keywire process."""
    code = prelude + "\nimport sys\nfrom keywire.cli import main\nsys.argv[0] = 'keywire'\nmain()\n"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "--format", "json", "-o", "/dev/null"],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, done.returncode, max(peak, before) / 1024


def main() -> int:
    # Each run records into a store of its own, as a first scan does: the user's default store
    # holds the history of every earlier run, and its size is not what is measured here.
    os.environ.setdefault(
        "KEYWIRE_STORE", str(Path(tempfile.mkdtemp(prefix="keywire-bench-store-")) / "keywire.db")
    )
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=2000)
    parser.add_argument("--fleet-timeout", type=float, default=20.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["drip", "dns", "fleet"])
    options = parser.parse_args()
    rows = []
    if "drip" not in options.skip:
        with serve(tls_drip) as port:
            url = f"https://127.0.0.1:{port}/"
            wall, code, _ = run(["scan", url, "--scan-timeout", "8", "--timeout", "10"])
        rows.append(("TLS drip, 1 target", 8.0, wall, code, None))
    if "dns" not in options.skip:
        url = "https://api.stall.keywire-lab.test/"
        wall, code, _ = run(
            ["scan", url, "--scan-timeout", "4", "--timeout", "30"], prelude=STALLED_DNS
        )
        rows.append(("stalled DNS, 1 target", 4.0, wall, code, None))
    if "fleet" not in options.skip:
        with serve(refuse) as port:
            targets = [f"http://127.0.0.1:{port}/v1/t{i}" for i in range(options.targets)]
            timeout = options.fleet_timeout
            wall, code, rss = run(["scan", *targets, "--scan-timeout", f"{timeout:g}"])
        rows.append((f"fleet, {options.targets:,} targets", timeout, wall, code, rss))
    print(f"Python {sys.version.split()[0]}\n")
    print("| case | --scan-timeout | wall time | overrun | exit | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, deadline, wall, code, rss in rows:
        memory = f"{rss:.0f} MiB" if rss is not None else ""
        print(
            f"| {name} | {deadline:g} s | {wall:.1f} s | {wall - deadline:+.1f} s | {code} "
            f"| {memory} |"
        )
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    sys.exit(main())
