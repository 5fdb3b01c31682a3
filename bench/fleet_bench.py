"""Fleet benchmark: keywire on 1,000 and 10,000 loopback APIs, side by side with sslyze.

    python bench/fleet_bench.py [--tls 1000] [--stream 10000] [--cleartext 1000]
                                [--sslyze-runs 1] [--runs 1] [--skip tls stream cleartext]
                                [--write]

Needs root (the lab listens on ports 443 and 80 of many loopback addresses) and nginx; sslyze
from ``$KEYWIRE_SSLYZE`` (or PATH). The lab (``labs/nginxfleet.py``) is one nginx, one loopback
address per API, four TLS profiles in turn, each API with its cleartext side on port 80.

Scenarios (each a whole process, spawned by a small launcher that measures it):

- **tls**: N HTTPS APIs, the full default scan of each tool: ``keywire scan -i LIST --ca-file
  CA --format json -o FILE`` (default workers: the CPU count) against ``sslyze --targets_in
  LIST --json_out FILE --certinfo_ca_file CA`` (sslyze's default scan commands);
- **stream**: M targets (the N APIs, M/N paths each) streamed with ``--format jsonl`` to a
  pipe: time to the first record, time of every 1,000th record (the rate per 1,000), peak RSS;
- **cleartext**: N http:// APIs (no HTTPS side), the full default scan: CPU time.

Measured per run: wall time, CPU time (user + system of the process and every process it
waited for: keywire's workers are counted), peak RSS of the largest process (``wait4``) and the
peak of the *sum* over the process tree (sampled every 20 ms from /proc: keywire's parent and
workers together). The machine is shared (2 cores, other jobs): read CPU time where wall time
is noisy. ``--write`` puts the table into bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from labs.nginxfleet import NginxFleet  # noqa: E402

MARK_BEGIN = "<!-- fleet:begin -->"
MARK_END = "<!-- fleet:end -->"

# Spawns the command, samples the RSS of its process tree, timestamps stdout lines, and prints
# one JSON line of measurements. A separate interpreter, so the lab's memory is not counted.
LAUNCHER = r"""
import json, os, sys, threading, time

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out

def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

started = time.perf_counter()
r, w = os.pipe()
null = os.open(os.devnull, os.O_WRONLY)
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ,
                      file_actions=[(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
os.close(w)
marks = []
def read():
    count = 0
    with os.fdopen(r, "rb") as out:
        for line in out:
            count += 1
            if count == 1 or count % 1000 == 0:
                marks.append((count, time.perf_counter() - started))
    marks.append((count, time.perf_counter() - started))
reader = threading.Thread(target=read)
reader.start()
peak_sum = 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    peak_sum = max(peak_sum, sum(rss(p) for p in tree(pid)))
    time.sleep(0.02)
wall = time.perf_counter() - started
reader.join(30)
print(json.dumps({"wall": wall, "maxrss_kib": usage.ru_maxrss, "peak_sum_kib": peak_sum,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "code": os.waitstatus_to_exitcode(status), "marks": marks}))
"""


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_mib: float
    peak_sum_mib: float
    code: int
    marks: list[tuple[int, float]] = field(default_factory=list)
    problem: str = ""


def measure(cmd: list[str], *, timeout: float = 7200, store: Path | None = None) -> Run:
    """Run ``cmd`` under the launcher; keywire records into ``store``, a fresh history store
    (a default scan records, and the user's own store must neither be touched nor be read)."""
    env = {**os.environ, "KEYWIRE_STORE": str(store)} if store is not None else None
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        wall=data["wall"],
        cpu=data["cpu"],
        maxrss_mib=data["maxrss_kib"] / 1024,
        peak_sum_mib=data["peak_sum_kib"] / 1024,
        code=data["code"],
        marks=[tuple(m) for m in data["marks"]],
    )


def keywire_binary() -> str:
    exe = Path(sys.executable).with_name("keywire")
    return str(exe) if exe.exists() else shutil.which("keywire") or "keywire"


def check_keywire_json(path: Path, expected: int) -> str:
    report = json.loads(path.read_text(encoding="utf-8"))
    targets = report["targets"]
    unscanned = [t["target"] for t in targets if not t["scanned"]]
    errors = sum(1 for t in targets for o in t["outcomes"] if o["status"] == "error")
    if len(targets) != expected or unscanned or errors:
        return f"keywire: {len(targets)} targets, {len(unscanned)} not scanned, {errors} not tested"
    return ""


def check_sslyze(path: Path, expected: int) -> str:
    results = json.loads(path.read_text(encoding="utf-8"))["server_scan_results"]
    bad = [r for r in results if r["scan_status"] != "COMPLETED"]
    if len(results) != expected or bad:
        return f"sslyze: {len(results)} results, {len(bad)} not completed"
    return ""


def tls_scenario(fleet: NginxFleet, work: Path, args: argparse.Namespace) -> list[str]:
    urls = fleet.urls()
    listing = work / "tls.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    hostports = work / "tls-sslyze.txt"
    hostports.write_text("\n".join(f"{a}:443" for a in fleet.addresses) + "\n", encoding="utf-8")
    rows = []
    runs: dict[str, list[Run]] = {"keywire": [], "sslyze": []}
    sslyze = os.environ.get("KEYWIRE_SSLYZE") or shutil.which("sslyze")
    for number in range(max(args.runs, args.sslyze_runs if sslyze else 0)):
        if number < args.runs:
            out = work / f"keywire-tls-{number}.json"
            run = measure([keywire_binary(), "scan", "-q", "-i", str(listing), "--ca-file",
                           str(fleet.ca_file), "--format", "json", "-o", str(out),
                           "--fail-on", "none"], store=work / f"store-tls-{number}.db")  # fmt: skip
            run.problem = f"exit {run.code}" if run.code else check_keywire_json(out, len(urls))
            runs["keywire"].append(run)
            say(f"tls keywire run {number + 1}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, "
                f"{run.peak_sum_mib:.0f} MiB (sum) {run.problem}")  # fmt: skip
        if sslyze and number < args.sslyze_runs:
            out = work / f"sslyze-tls-{number}.json"
            run = measure([sslyze, "--quiet", "--targets_in", str(hostports), f"--json_out={out}",
                           f"--certinfo_ca_file={fleet.ca_file}"])  # fmt: skip
            # sslyze exits 1 when a server fails its Mozilla configuration check: a verdict,
            # not a failure; its JSON says whether every scan completed.
            verdict = run.code in (0, 1) and out.exists()
            run.problem = check_sslyze(out, len(urls)) if verdict else f"exit {run.code}"
            runs["sslyze"].append(run)
            say(f"tls sslyze run {number + 1}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU, "
                f"{run.maxrss_mib:.0f} MiB {run.problem}")  # fmt: skip
    base = runs["keywire"]
    for tool, samples in runs.items():
        if not samples:
            continue
        wall = statistics.median(r.wall for r in samples)
        cpu = statistics.median(r.cpu for r in samples)
        rss = statistics.median(max(r.peak_sum_mib, r.maxrss_mib) for r in samples)
        ratio = memory = ""
        if tool != "keywire" and base:
            ratio = f"{wall / statistics.median(r.wall for r in base):.1f}x"
            keywire_rss = statistics.median(max(r.peak_sum_mib, r.maxrss_mib) for r in base)
            memory = f"{rss / keywire_rss:.1f}x"
        problems = "; ".join(r.problem for r in samples if r.problem)
        rows.append(
            f"| {len(urls):,} HTTPS APIs, full default scan | {tool} | {len(samples)} | "
            f"{wall:.1f} | {cpu:.1f} | {rss:.0f} | {ratio} | {memory} | {problems} |"
        )
    return rows


def stream_scenario(fleet: NginxFleet, work: Path, args: argparse.Namespace) -> list[str]:
    paths = max(1, args.stream // len(fleet.addresses))
    urls = fleet.urls(paths)[: args.stream]
    listing = work / "stream.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    run = measure([keywire_binary(), "scan", "-q", "-i", str(listing), "--ca-file",
                   str(fleet.ca_file), "--format", "jsonl", "--fail-on", "none"],
                  store=work / "store-stream.db")  # fmt: skip
    first = run.marks[0][1] if run.marks else float("nan")
    blocks = [
        (count, at - previous_at)
        for (count, at), (_, previous_at) in zip(run.marks[1:], run.marks, strict=False)
        if count % 1000 == 0
    ]
    lines = run.marks[-1][0] if run.marks else 0
    say(f"stream: {lines} lines, first after {first:.2f} s, {run.wall:.1f} s wall, "
        f"{run.cpu:.1f} s CPU, {run.peak_sum_mib:.0f} MiB (sum), {run.maxrss_mib:.0f} MiB (max)")  # fmt: skip
    per_block = ", ".join(f"{1000 / seconds:.0f}" for _, seconds in blocks)
    problem = "" if lines == len(urls) + 1 else f"{lines} lines for {len(urls)} targets"
    return [
        f"| {len(urls):,} targets streamed (jsonl) | keywire | 1 | {run.wall:.1f} | {run.cpu:.1f} "
        f"| {max(run.peak_sum_mib, run.maxrss_mib):.0f} | first record {first:.2f} s | "
        f"targets/s per 1,000: {per_block} | {problem or f'exit {run.code}'} |"
    ]


def cleartext_scenario(count: int, work: Path, args: argparse.Namespace) -> list[str]:
    fleet = NginxFleet(count, tls=False, block=2)
    try:
        listing = work / "cleartext.txt"
        listing.write_text("\n".join(fleet.urls()) + "\n", encoding="utf-8")
        samples = []
        for number in range(args.runs):
            out = work / f"keywire-cleartext-{number}.json"
            run = measure([keywire_binary(), "scan", "-q", "-i", str(listing), "--format", "json",
                           "-o", str(out), "--fail-on", "none"],
                          store=work / f"store-cleartext-{number}.db")  # fmt: skip
            report = json.loads(out.read_text(encoding="utf-8"))
            scanned = sum(t["scanned"] for t in report["targets"])
            run.problem = "" if scanned == count else f"{scanned} of {count} scanned"
            samples.append(run)
            say(f"cleartext run {number + 1}: {run.wall:.1f} s wall, {run.cpu:.2f} s CPU "
                f"{run.problem}")  # fmt: skip
    finally:
        fleet.close()
    cpu = statistics.median(r.cpu for r in samples)
    wall = statistics.median(r.wall for r in samples)
    rss = statistics.median(max(r.peak_sum_mib, r.maxrss_mib) for r in samples)
    problems = "; ".join(r.problem for r in samples if r.problem)
    return [
        f"| {count:,} cleartext APIs, full default scan | keywire | {len(samples)} | {wall:.1f} "
        f"| {cpu:.2f} ({1000 * cpu / count:.1f} ms a target) | {rss:.0f} |  |  | {problems} |"
    ]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tls", type=int, default=1000, help="HTTPS APIs (default 1000)")
    parser.add_argument("--stream", type=int, default=10000, help="targets streamed (10000)")
    parser.add_argument("--cleartext", type=int, default=1000, help="cleartext APIs (1000)")
    parser.add_argument("--runs", type=int, default=1, help="keywire runs per scenario")
    parser.add_argument("--sslyze-runs", type=int, default=1, help="sslyze runs (0: none)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["tls", "stream", "cleartext"])
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="keywire-fleet-bench-"))
    rows: list[str] = []
    started = time.strftime("%Y-%m-%d")
    load = os.getloadavg()[0]
    if "tls" not in args.skip or "stream" not in args.skip:
        say(f"lab: {args.tls} HTTPS APIs on nginx")
        fleet = NginxFleet(args.tls)
        try:
            if "tls" not in args.skip:
                rows += tls_scenario(fleet, work, args)
            if "stream" not in args.skip:
                rows += stream_scenario(fleet, work, args)
        finally:
            fleet.close()
    if "cleartext" not in args.skip:
        rows += cleartext_scenario(args.cleartext, work, args)
    table = "\n".join(
        [
            "| scenario | tool | runs | wall (s) | CPU (s) | peak RSS (MiB) | speed-up / first "
            "record | memory vs keywire / rate | problems |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    summary = (
        f"{table}\n\nMachine: {os.cpu_count()} cores, shared (load average {load:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end). Each keywire run records into a fresh "
        "history store (the default scan records). Peak RSS is the largest of the process tree's sampled sum and its largest "
        "process (keywire: parent and workers together).\n"
    )
    print(summary)
    if args.write:
        readme = ROOT / "bench" / "README.md"
        content = readme.read_text(encoding="utf-8")
        head, _, rest = content.partition(MARK_BEGIN)
        _, _, tail = rest.partition(MARK_END)
        command = " ".join(["python bench/fleet_bench.py", *sys.argv[1:]]).replace(" --write", "")
        readme.write_text(
            f"{head}{MARK_BEGIN}\nMeasured {started}, `{command}`:\n\n{summary}{MARK_END}{tail}",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
