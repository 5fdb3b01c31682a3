"""Benchmark keywire's TLS scan against sslyze (and testssl.sh) on a loopback lab.

    python bench/tls_bench.py [--runs 5] [--testssl-runs 2] [--sslyze-commands matching] [--write]

Starts the lab (Python ``ssl`` profiles and, when installed, gnutls-serv), each target on its own
loopback address (127.0.0.2, 127.0.0.3, ...: a batch of APIs is a batch of hosts, each with its
own per-host connection cap), then runs, alternating the tools' order every round:

- one target: ``keywire scan --only tls --format json URL`` vs ``sslyze <same checks> HOST:PORT``
  (vs ``testssl --fast``);
- the batch: every target in one invocation of each tool.

Each run is a whole process: wall time from spawn to exit, and peak RSS from ``wait4`` (for
testssl.sh, the largest of its process tree's members). sslyze runs the commands that match what
keywire's TLS scan does (versions, suites, curves, certificate, fallback, renegotiation,
compression, and since issue 13 resumption, early data, Heartbleed, CCS injection and ROBOT),
not its whole default set; ``--sslyze-commands enumeration`` leaves out the issue 13 ones, as
the benchmark did before. ``--write`` puts the table into bench/README.md.

sslyze comes from ``$KEYWIRE_SSLYZE`` (or PATH); testssl.sh from PATH (``testssl`` or
``testssl.sh``), run with ``--ip <address> -n none`` and ``NXCONNECT=127.0.0.1:0`` so it sends
nothing off the machine.
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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the shared test and bench lab: labs/

from labs.gnutls import GnutlsServer, GnutlsUnavailable  # noqa: E402
from labs.tlslab import TlsLab, build_pki, profile  # noqa: E402

PROFILES = (
    "modern",
    "tls13-only",
    "legacy-tls10",
    "null",
    "anon",
    "dhe-1024",
    "static-rsa",
    "no-aead",
    "prefers-cbc",
    "sha1-signed",
    "expired",
    "self-signed",
    "incomplete-chain",
)
GNUTLS_PRIORITY = (
    "NONE:+VERS-TLS1.2:+VERS-TLS1.0:+RSA:+ECDHE-RSA:+AES-128-GCM:+AES-128-CBC:+ARCFOUR-128:"
    "+3DES-CBC:+MD5:+AEAD:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL"
)
SSLYZE_COMMANDS = (
    "--sslv2",
    "--sslv3",
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--certinfo",
    "--elliptic_curves",
    "--fallback",
    "--reneg",
    "--compression",
)
#: What keywire also establishes since issue 13 (resumption, 0-RTT, Heartbleed, CCS injection,
#: ROBOT): part of the matching set unless ``--sslyze-commands enumeration``.
SSLYZE_DEPTH_COMMANDS = ("--resum", "--early_data", "--heartbleed", "--openssl_ccs", "--robot")
MARK_BEGIN = "<!-- bench:begin -->"
MARK_END = "<!-- bench:end -->"


@dataclass
class Sample:
    wall: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, wall: float, rss_kib: int, cpu: float = 0.0) -> None:
        self.wall.append(wall)
        self.rss_mib.append(rss_kib / 1024)
        self.cpu.append(cpu)


# A tiny launcher runs each measured command. Spawning from the benchmark process itself would
# count the benchmark's own memory (the lab servers) as the child's peak: Linux keeps the
# pre-exec address space's high-water mark in the child's ru_maxrss.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status), cpu)
"""


def measure(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900
) -> tuple[float, int, int, float]:
    """(wall seconds, peak RSS KiB of the process and its waited-for children, exit status,
    CPU seconds of the process and its children).

    On a shared machine wall times move with the other jobs; CPU time much less, so the CPU
    ratio is the steadier comparison there.
    """
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    wall, rss, code, cpu = done.stdout.split()[-4:]
    return float(wall), int(rss), int(code), float(cpu)


def keywire_command(urls: Sequence[str], ca_file: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("keywire")
    binary = str(exe) if exe.exists() else shutil.which("keywire") or "keywire"
    return [
        binary, "scan", "--only", "tls", "--format", "json", "--fail-on", "none",
        "--ca-file", str(ca_file), "--output", str(out), *urls,
    ]  # fmt: skip


def sslyze_command(
    binary: str, targets: Sequence[str], ca_file: Path, out: Path, *, depth: bool = True
) -> list[str]:
    commands = SSLYZE_COMMANDS + (SSLYZE_DEPTH_COMMANDS if depth else ())
    return [
        binary, "--quiet", f"--json_out={out}", f"--certinfo_ca_file={ca_file}",
        *commands, *targets,
    ]  # fmt: skip


def testssl_command(binary: str, address: str, url: str) -> list[str]:
    return [
        binary, "--fast", "--ip", address, "-n", "none", "--quiet", "--color", "0",
        "--warnings", "off", "--openssl-timeout", "5", url,
    ]  # fmt: skip


def check_keywire(out: Path, expected: int) -> str:
    report = json.loads(out.read_text())
    targets = report["targets"]
    bad = [
        t["target"]
        for t in targets
        # "skipped" is a check with nothing to do (revocation without an OCSP/CRL URL)
        if not t["scanned"] or any(o["status"] == "error" for o in t["outcomes"])
    ]
    if len(targets) != expected or bad:
        return f"keywire: incomplete targets {bad}"
    return ""


def check_sslyze(out: Path, expected: int) -> str:
    data = json.loads(out.read_text())
    results = data["server_scan_results"]
    bad = [r["server_location"]["port"] for r in results if r["scan_status"] != "COMPLETED"]
    if len(results) != expected or bad:
        return f"sslyze: incomplete targets {bad}"
    return ""


def import_cost() -> tuple[float, float]:
    """(median wall of `python -c 'import keywire.cli'`, median wall of `python -c pass`)."""
    walls, base = [], []
    for _ in range(5):
        base.append(measure([sys.executable, "-c", "pass"])[0])
        walls.append(measure([sys.executable, "-c", "import keywire.cli"])[0])
    return statistics.median(walls), statistics.median(base)


def table(results: dict[str, dict[str, Sample]], runs: dict[str, int]) -> str:
    lines = [
        "| scenario | tool | runs | wall median (s) | peak RSS median (MiB) | CPU median (s) | keywire speed-up | CPU vs keywire | memory vs keywire |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, tools in results.items():
        base = tools.get("keywire")
        for tool, sample in tools.items():
            if not sample.wall:
                continue
            wall = statistics.median(sample.wall)
            rss = statistics.median(sample.rss_mib)
            cpu = statistics.median(sample.cpu)
            speed = mem = cpu_ratio = ""
            if base and base.wall and tool != "keywire":
                speed = f"{wall / statistics.median(base.wall):.1f}x"
                mem = f"{rss / statistics.median(base.rss_mib):.1f}x"
                cpu_ratio = f"{cpu / statistics.median(base.cpu):.1f}x"
            lines.append(
                f"| {scenario} | {tool} | {len(sample.wall)} | {wall:.2f} | {rss:.0f} | {cpu:.2f} "
                f"| {speed} | {cpu_ratio} | {mem} |"
            )
    return "\n".join(lines)


def main() -> int:
    # Measure what users run: byte-compiled modules. Some build environments set
    # PYTHONDONTWRITEBYTECODE, which would make every keywire run recompile its sources.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="rounds of keywire and sslyze (default 5)"
    )
    parser.add_argument(
        "--testssl-runs", type=int, default=2, help="testssl.sh single-target runs (0: none)"
    )
    parser.add_argument(
        "--testssl-batch", action="store_true", help="also run testssl.sh on the batch (slow)"
    )
    parser.add_argument(
        "--sslyze-commands",
        choices=("matching", "enumeration"),
        default="matching",
        help="sslyze's commands: those matching everything keywire's TLS scan does (default), "
        "or only the enumeration ones (versions, suites, curves, certificate, fallback, "
        "renegotiation, compression) the benchmark used before issue 13",
    )
    parser.add_argument("--write", action="store_true", help="write the table into bench/README.md")
    args = parser.parse_args()

    sslyze = os.environ.get("KEYWIRE_SSLYZE") or shutil.which("sslyze")
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if not sslyze:
        print("sslyze not found: set KEYWIRE_SSLYZE", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="keywire-bench-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pki = build_pki(work)
    lab = TlsLab(pki)
    targets: list[tuple[str, int]] = []
    gnutls = None
    try:
        for index, name in enumerate(PROFILES):
            server = lab.start(profile(name), address=f"127.0.0.{index + 2}")
            targets.append((server.host, server.port))
        try:
            cert, key = pki.files("rsa-2048")
            address = f"127.0.0.{len(targets) + 2}"
            gnutls = GnutlsServer(GNUTLS_PRIORITY, cert, key, address=address)
            targets.append((address, gnutls.port))
        except (GnutlsUnavailable, OSError) as exc:
            print(f"(no gnutls target: {exc})", file=sys.stderr)
        urls = [f"https://{host}:{port}/" for host, port in targets]
        hostports = [f"{host}:{port}" for host, port in targets]
        print(f"lab: {len(targets)} TLS targets on loopback", file=sys.stderr)

        results: dict[str, dict[str, Sample]] = {
            "1 target": {"keywire": Sample(), "sslyze": Sample(), "testssl.sh --fast": Sample()},
            f"batch of {len(targets)}": {
                "keywire": Sample(),
                "sslyze": Sample(),
                "testssl.sh --fast": Sample(),
            },
        }
        single, batch = results["1 target"], results[f"batch of {len(targets)}"]
        tools = ["keywire", "sslyze"]
        for run in range(args.runs):
            order = tools if run % 2 == 0 else tools[::-1]
            for scenario, sample, chosen_urls, chosen_targets in (
                ("1 target", single, urls[:1], hostports[:1]),
                ("batch", batch, urls, hostports),
            ):
                for tool in order:
                    out = work / f"{tool}-{scenario}-{run}.json"
                    if tool == "keywire":
                        cmd = keywire_command(chosen_urls, pki.ca_file, out)
                    else:
                        cmd = sslyze_command(
                            sslyze,
                            chosen_targets,
                            pki.ca_file,
                            out,
                            depth=args.sslyze_commands == "matching",
                        )
                    wall, rss, code, cpu = measure(cmd)
                    sample[tool].add(wall, rss, cpu)
                    check = check_keywire if tool == "keywire" else check_sslyze
                    problem = f"exit {code}" if code else check(out, len(chosen_urls))
                    if problem:
                        sample[tool].failures.append(problem)
                    print(
                        f"run {run + 1} {scenario:8} {tool:8} {wall:6.2f}s {rss / 1024:6.0f} MiB {problem}",
                        file=sys.stderr,
                    )
        env = {**os.environ, "NXCONNECT": "127.0.0.1:0"}
        if testssl:
            for run in range(args.testssl_runs):
                host, _port = targets[0]
                wall, rss, code, cpu = measure(testssl_command(testssl, host, urls[0]), env=env)
                single["testssl.sh --fast"].add(wall, rss, cpu)
                print(f"testssl run {run + 1}: {wall:.1f}s exit {code}", file=sys.stderr)
            if args.testssl_batch:
                started = time.perf_counter()
                peak = 0
                for (host, _), url in zip(targets, urls, strict=True):
                    _, rss, _, _ = measure(testssl_command(testssl, host, url), env=env)
                    peak = max(peak, rss)
                batch["testssl.sh --fast"].add(time.perf_counter() - started, peak)
        importing, python = import_cost()
    finally:
        if gnutls is not None:
            gnutls.close()
        lab.close()

    text = table(results, {})
    failures = [
        f"{s} {t}: {f}" for s, ts in results.items() for t, x in ts.items() for f in x.failures
    ]
    summary = (
        f"{text}\n\nStart-up: `python -c 'import keywire.cli'` {importing:.2f} s "
        f"(bare interpreter {python:.2f} s). CPU: {os.cpu_count()} cores, shared.\n"
    )
    if failures:
        summary += "\nRuns that did not complete:\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print(summary)
    if args.write:
        readme = ROOT / "bench" / "README.md"
        content = readme.read_text(encoding="utf-8")
        head, _, rest = content.partition(MARK_BEGIN)
        _, _, tail = rest.partition(MARK_END)
        stamp = time.strftime("%Y-%m-%d")
        readme.write_text(
            f"{head}{MARK_BEGIN}\nMeasured {stamp}, `python bench/tls_bench.py --runs {args.runs} --testssl-runs {args.testssl_runs} --sslyze-commands {args.sslyze_commands}`:\n\n{summary}{MARK_END}{tail}",
            encoding="utf-8",
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
