"""Distributed benchmark: 1,000 loopback HTTPS APIs scanned by the local engine and by 1, 2 and 4
``keywire worker`` processes on a Redis broker.

    python bench/distributed_bench.py [--targets 1000] [--processes 1 2 4] [--threads 8]
                                      [--runs 1] [--block 7] [--write]

Needs root (the lab listens on port 443 of many loopback addresses: ``labs/nginxfleet.py``),
nginx and redis-server. Every run is the full default scan of every target (``--ca-file`` the
lab CA), its stream checked: every target once, scanned, no check in error.

Measured per run (the machine is shared: read CPU where wall time is noisy):

- **wall**: the coordinator's ``keywire scan`` from start to exit (start-up included);
- **CPU**: user + system time of everything that worked for the scan: the scan process and the
  processes it waited for (local: its worker processes), and for a distributed run the
  ``keywire worker`` processes and redis-server too (from /proc, before and after);
- **per target**: CPU / targets; **broker overhead per target**: the distributed run's CPU minus
  the local run's, per target (Redis, the coordinator's enqueue and collect, each message's
  bookkeeping, the leases, a client per target instead of one per process), and Redis's CPU
  per target on its own.

``--write`` puts the table into docs/distributed.md (between the bench markers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from labs.nginxfleet import NginxFleet  # noqa: E402

MARK_BEGIN = "<!-- distributed-bench:begin -->"
MARK_END = "<!-- distributed-bench:end -->"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    redis_cpu: float
    problem: str


def cpu_of(pid: int) -> float:
    """User + system seconds of process ``pid`` (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            todo += [int(x) for x in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keywire() -> list[str]:
    return [sys.executable, "-m", "keywire"]


def check_stream(path: Path, expected: int) -> str:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    targets = [r for r in lines if r["record"] == "target"]
    names = {r["target"] for r in targets}
    unscanned = sum(1 for r in targets if not r["scanned"])
    errors = sum(1 for r in targets for o in r["outcomes"] if o["status"] == "error")
    if len(targets) != expected or len(names) != expected or unscanned or errors:
        return (
            f"{len(targets)} records for {len(names)} targets, {unscanned} not scanned, "
            f"{errors} checks in error"
        )
    return ""


def scan(
    cmd: list[str], out: Path, expected: int, extra_pids: list[int]
) -> tuple[float, float, str]:
    """Run one scan: its wall time, CPU (the scan, what it waited for, ``extra_pids``)."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_extra = sum(cpu_of(p) for p in extra_pids)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=7200, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before_children.ru_utime) + (after.ru_stime - before_children.ru_stime)
    cpu += sum(cpu_of(p) for p in extra_pids) - before_extra
    problem = f"exit {done.returncode}: {done.stderr[-300:]}" if done.returncode else ""
    return wall, cpu, problem or check_stream(out, expected)


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


def start_workers(url: str, processes: int, threads: int) -> subprocess.Popen[bytes]:
    import redis

    client = redis.Redis.from_url(url)
    client.delete("dramatiq:__heartbeats__")  # the last run's workers are gone
    supervisor = subprocess.Popen(
        [*keywire(), "worker", "--broker", url, "--processes", str(processes),
         "--threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while client.zcard("dramatiq:__heartbeats__") < processes:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.1)
    return supervisor


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--block", type=int, default=7, help="loopback block 127.N.x.y")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keywire-dbench-"))
    fleet = NginxFleet(args.targets, block=args.block)
    redis_server, url = start_redis(work)
    runs: list[Run] = []
    try:
        listing = work / "fleet.txt"
        listing.write_text("\n".join(fleet.urls()) + "\n", encoding="utf-8")
        common = ["scan", "-q", "-i", str(listing), "--ca-file", str(fleet.ca_file),
                  "--fail-on", "none", "--no-config", "--no-store", "--format", "jsonl"]  # fmt: skip
        for number in range(args.runs):
            out = work / f"local-{number}.jsonl"
            wall, cpu, problem = scan([*keywire(), *common, "-o", str(out)], out, args.targets, [])
            runs.append(Run("local engine (--workers: the CPU count)", wall, cpu, 0.0, problem))
            say(f"local: {wall:.1f} s wall, {cpu:.1f} s CPU {problem}")
            for processes in args.processes:
                supervisor = start_workers(url, processes, args.threads)
                try:
                    pids = [*tree(supervisor.pid), redis_server.pid]
                    redis_before = cpu_of(redis_server.pid)
                    out = work / f"workers-{processes}-{number}.jsonl"
                    cmd = [*keywire(), *common, "-o", str(out), "--broker", url]
                    wall, cpu, problem = scan(cmd, out, args.targets, pids)
                    redis_cpu = cpu_of(redis_server.pid) - redis_before
                finally:
                    stop(supervisor)
                name = f"{processes} worker process{'es' if processes > 1 else ''} x {args.threads} threads"
                runs.append(Run(name, wall, cpu, redis_cpu, problem))
                say(
                    f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, Redis {redis_cpu:.2f} s {problem}"
                )
    finally:
        stop(redis_server)
        fleet.close()
        shutil.rmtree(work, ignore_errors=True)
    table = render(runs, args.targets)
    print(table)
    if args.write:
        doc = ROOT / "docs" / "distributed.md"
        text = doc.read_text(encoding="utf-8")
        head, _, rest = text.partition(MARK_BEGIN)
        _, _, tail = rest.partition(MARK_END)
        doc.write_text(f"{head}{MARK_BEGIN}\n{table}\n{MARK_END}{tail}", encoding="utf-8")
    return 1 if any(r.problem for r in runs) else 0


def render(runs: list[Run], targets: int) -> str:
    names = list(dict.fromkeys(r.name for r in runs))
    local = statistics.median(r.cpu for r in runs if r.name.startswith("local"))
    rows = [
        "| Run | Runs | Wall (s) | Targets/s | CPU (s) | CPU per target (ms) | Broker overhead "
        "per target (ms CPU) | Redis per target (ms CPU) | Problems |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        samples = [r for r in runs if r.name == name]
        wall = statistics.median(r.wall for r in samples)
        cpu = statistics.median(r.cpu for r in samples)
        redis_cpu = statistics.median(r.redis_cpu for r in samples)
        is_local = name.startswith("local")
        overhead = "" if is_local else f"{(cpu - local) / targets * 1000:.1f}"
        redis_ms = "" if is_local else f"{redis_cpu / targets * 1000:.2f}"
        problems = "; ".join(r.problem for r in samples if r.problem)
        rows.append(
            f"| {name} | {len(samples)} | {wall:.1f} | {targets / wall:.1f} | {cpu:.1f} | "
            f"{cpu / targets * 1000:.1f} | {overhead} | {redis_ms} | {problems} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
