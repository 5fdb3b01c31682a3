"""Worker processes: a fleet's targets sharded across cores, their results merged as they come.

One asyncio loop in keywire is CPU-bound from a few dozen targets on; a fleet needs every core.
:func:`pool_results` starts one worker process per share (``python -m keywire.fleet._worker``,
a fresh interpreter: nothing of the parent's state is forked), sends each its job, and yields
every result the moment any worker reports it.

Targets are sharded by **server** (:func:`shard`), so one server's targets all go to one worker
and its connection cap (``--per-host``) holds across processes; the scan-wide caps
(``--max-targets``, ``--max-connections``) are divided between the workers.

A worker that ends without finishing its share (a crash, a kill, a stall past its deadlines
plus a grace period) is reported, never waited for: each target it left is reported as not
scanned, with why (and ``--resume`` scans those again). Closing the stream early (Ctrl-C)
terminates every worker and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from .. import _json
from .._dataclass import dataclass
from .._models import TargetResult
from ..reporters.jsonl import line
from ..targets import Target
from ._records import RecordError, parse_line, result_from_record
from ._spool import WORKER_LOST

#: A worker silent for this long past the target deadline is taken for stuck, and stopped.
STALL_GRACE_S = 60.0
#: Records may be large (a target's details): the pipe reader's line limit.
MAX_RECORD_BYTES = 256 * 1024 * 1024


def shard(
    targets: Sequence[Target], workers: int, pins: Mapping[str, tuple[str, ...]]
) -> list[list[str]]:
    """``targets``' URLs in at most ``workers`` shares, each server's targets in one share.

    A server is an address and a port, as for the connection caps. A target reaches its own
    server and the one of its counterpart (the cleartext side of an https:// target, the HTTPS
    side of an http:// one), so targets that share any server are grouped together
    (:func:`_groups`). The groups go, largest first, to the share with the fewest targets so
    far, so the shares are as even as the servers allow. A target's address is known when the
    parent knows it without asking DNS (an IP literal, a ``--resolve`` pin, ``localhost``),
    else its host name stands for it: two names that DNS sends to one server may land in
    different shares (each then keeps the cap on its own).
    """
    shares: list[list[str]] = [[] for _ in range(max(1, workers))]
    for group in sorted(_groups(targets, pins), key=len, reverse=True):
        min(shares, key=len).extend(group)
    return [s for s in shares if s]


def _groups(targets: Sequence[Target], pins: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """The targets' URLs grouped so that no server is reached from two groups (union-find over
    the servers each target reaches), each group in the targets' order."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    reached: list[tuple[str, tuple[str, int]]] = []
    for target in targets:
        key = server_key(target.host, pins)
        own = (key, target.port)
        first = root(own)
        for side in (target.http_url, target.https_url):
            if side is not None and side != target.url:
                other = root((key, _port_of(side)))
                if other != first:
                    parent[other] = first
        reached.append((target.url, own))
    groups: dict[tuple[str, int], list[str]] = {}
    for url, own in reached:
        groups.setdefault(root(own), []).append(url)
    return list(groups.values())


def _port_of(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def server_key(host: str, pins: Mapping[str, tuple[str, ...]]) -> str:
    name = host.strip("[]").rstrip(".").lower()
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(name))
    if name in pins:
        return pins[name][0]
    if name == "localhost" or name.endswith(".localhost"):
        return "127.0.0.1"
    return name


@dataclass
class PoolReport:
    """What the workers did: their peak memory, and the ones that were lost."""

    peak_rss_kib: list[int] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


async def pool_results(
    shares: Sequence[Sequence[str]],
    job: Mapping[str, Any],
    *,
    stall_after: float,
    report: PoolReport,
) -> AsyncIterator[TargetResult]:
    """Every result of every share, as the workers report them (see the module docstring)."""
    queue: asyncio.Queue[TargetResult | None] = asyncio.Queue()
    procs: list[asyncio.subprocess.Process] = []
    pumps: list[asyncio.Task[None]] = []
    try:
        for number, urls in enumerate(shares, 1):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "keywire.fleet._worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=MAX_RECORD_BYTES,
            )
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(line({**job, "targets": list(urls)}).encode("utf-8"))
            await proc.stdin.drain()
            pumps.append(
                asyncio.ensure_future(_pump(number, proc, urls, queue, stall_after, report))
            )
        running = len(pumps)
        while running:
            item = await queue.get()
            if item is None:
                running -= 1
            else:
                yield item
    finally:
        for task in pumps:
            task.cancel()
        await _stop(procs)


async def _pump(
    number: int,
    proc: asyncio.subprocess.Process,
    urls: Sequence[str],
    queue: asyncio.Queue[TargetResult | None],
    stall_after: float,
    report: PoolReport,
) -> None:
    """Read one worker's records into ``queue``; report what it left when it ends."""
    assert proc.stdout is not None
    left = dict.fromkeys(urls)
    why = ""
    try:
        while True:
            try:
                raw = await asyncio.wait_for(proc.stdout.readline(), stall_after)
            except asyncio.TimeoutError:
                why = f"stopped answering for {stall_after:g} s and was stopped"
                proc.kill()
                break
            except (ValueError, asyncio.LimitOverrunError):
                why = "sent a record larger than keywire reads"
                proc.kill()
                break
            if not raw:
                break
            if raw.startswith(b'{"record":"done"'):
                done = _json.loads(raw)
                if isinstance(done, dict) and isinstance(done.get("peak_rss_kib"), int):
                    report.peak_rss_kib.append(done["peak_rss_kib"])
                continue
            try:
                result = result_from_record(parse_line(raw))
            except RecordError:
                why = "sent something that is not a record and was stopped"
                proc.kill()
                break
            left.pop(result.target, None)
            await queue.put(result)
        code = await proc.wait()
        if left:
            why = why or f"ended unexpectedly (exit code {code})"
            report.lost.append(
                f"worker {number} (pid {proc.pid}) {why}: {len(left)} of its {len(urls)} "
                "targets were not scanned (--resume scans them again)"
            )
            for url in left:
                error = f"{WORKER_LOST} {why}"
                await queue.put(TargetResult(target=url, scanned=False, error=error))
    finally:
        with contextlib.suppress(Exception):
            if proc.stdin is not None:
                proc.stdin.close()
        queue.put_nowait(None)


async def _stop(procs: Sequence[asyncio.subprocess.Process], grace: float = 3.0) -> None:
    """Terminate every worker still running; kill those that do not end within ``grace``."""
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
    give_up = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), max(0.1, give_up - time.monotonic()))
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
