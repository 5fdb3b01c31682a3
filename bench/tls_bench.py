"""Benchmark keywire's TLS scan against sslyze (and testssl.sh) on a loopback lab.

    python bench/tls_bench.py [--runs 5] [--testssl-runs 2] [--sslyze-commands matching] [--write]

Starts the lab (Python ``ssl`` profiles and, when installed, gnutls-serv), each target on its own
loopback address (127.0.0.2, 127.0.0.3, ...: a batch of APIs is a batch of hosts, each with its
own per-host connection cap), then runs, alternating the tools' order every round:

- one target: ``keywire scan --only tls --format json URL`` vs ``sslyze <same checks> HOST:PORT``
  (vs ``testssl --fast``);
- one target, keywire's full default scan (every check family: the lab's TLS servers answer
  HTTP too) vs the same sslyze run;
- the batch: every target in one invocation of each tool.

Each run is a whole process: wall time from spawn to exit, CPU time (user + system) and peak RSS
from ``wait4`` (for testssl.sh, the largest of its process tree's members). On a shared machine
the CPU time is the steadier number; wall time includes waiting for the lab's servers. sslyze runs the commands that match what
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
    cpu: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, wall: float, rss_kib: int, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.rss_mib.append(rss_kib / 1024)


# A tiny launcher runs each measured command. Spawning from the benchmark process itself would
# count the benchmark's own memory (the lab servers) as the child's peak: Linux keeps the
# pre-exec address space's high-water mark in the child's ru_maxrss.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status),
      usage.ru_utime + usage.ru_stime)
"""


def measure(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900
) -> tuple[float, int, int, float]:
    """(wall s, peak RSS KiB of the process and its waited-for children, exit status, CPU s)."""
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


def keywire_command(
    urls: Sequence[str], ca_file: Path, out: Path, *, only_tls: bool = True
) -> list[str]:
    exe = Path(sys.executable).with_name("keywire")
    binary = str(exe) if exe.exists() else shutil.which("keywire") or "keywire"
    only = ["--only", "tls"] if only_tls else []
    return [
        binary, "scan", *only, "--format", "json", "--fail-on", "none",
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
    # "skipped" is a family with nothing to examine (no cleartext side): not an incomplete scan.
    bad = [
        t["target"]
        for t in targets
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


def import_cost(runs: int = 9, before: str = "") -> dict[str, tuple[float, float]]:
    """Medians (wall s, CPU s) of start-up commands, alternating (and of ``before``'s tree)."""
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "python -c 'import keywire.cli'": ([sys.executable, "-c", "import keywire.cli"], None),
        "python -c 'import keywire'": ([sys.executable, "-c", "import keywire"], None),
    }
    if before:
        env = _before_env(before)
        commands["before: python -c 'import keywire.cli'"] = (
            [sys.executable, "-c", "import keywire.cli"],
            env,
        )
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, env) in commands.items():
            wall, _rss, _code, cpu = measure(cmd, env=env)
            found[name].append((wall, cpu))
    return {
        name: (statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows))
        for name, rows in found.items()
    }


KEYWIRE_TLS = "keywire --only tls"
KEYWIRE_FULL = "keywire (every check family)"
BEFORE = "before: "


def _before_env(tree: str) -> dict[str, str]:
    """The environment that runs keywire from another source tree (``--before``)."""
    return {**os.environ, "PYTHONPATH": tree}


def table(results: dict[str, dict[str, Sample]]) -> str:
    """One row per tool; a keywire row says how much faster it is than sslyze in its scenario."""
    lines = [
        "| scenario | tool | runs | wall median (s) | CPU median (s) | peak RSS median (MiB) "
        "| sslyze / keywire: wall | CPU | memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, tools in results.items():
        reference = tools.get("sslyze")
        for tool, sample in tools.items():
            if not sample.wall:
                continue
            wall = statistics.median(sample.wall)
            cpu = statistics.median(sample.cpu)
            rss = statistics.median(sample.rss_mib)
            ratios = ["", "", ""]
            keywire = tool.removeprefix(BEFORE).startswith("keywire")
            if keywire and reference is not None and reference.wall:
                ratios = [
                    f"{statistics.median(reference.wall) / wall:.1f}x",
                    f"{statistics.median(reference.cpu) / cpu:.1f}x",
                    f"{statistics.median(reference.rss_mib) / rss:.1f}x",
                ]
            lines.append(
                f"| {scenario} | {tool} | {len(sample.wall)} | {wall:.2f} | {cpu:.2f} | {rss:.0f} "
                f"| {' | '.join(ratios)} |"
            )
    return "\n".join(lines)


def main() -> int:
    # Each run records into a store of its own, as a first scan does: the user's default store
    # holds the history of every earlier run, and its size is not what is measured here.
    os.environ.setdefault(
        "KEYWIRE_STORE", str(Path(tempfile.mkdtemp(prefix="keywire-bench-store-")) / "keywire.db")
    )
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
    parser.add_argument("--no-batch", action="store_true", help="one target only (quicker)")
    parser.add_argument(
        "--sslyze-commands",
        choices=("matching", "enumeration"),
        default="matching",
        help="sslyze's commands: those matching everything keywire's TLS scan does (default), "
        "or only the enumeration ones (versions, suites, curves, certificate, fallback, "
        "renegotiation, compression) the benchmark used before issue 13",
    )
    parser.add_argument(
        "--before",
        default="",
        metavar="SRC",
        help="also run keywire from this source tree (its src/ directory), alternating",
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

        batch_name = f"batch of {len(targets)}"
        results: dict[str, dict[str, Sample]] = {
            "1 target": {
                KEYWIRE_TLS: Sample(),
                KEYWIRE_FULL: Sample(),
                "sslyze": Sample(),
                "testssl.sh --fast": Sample(),
            },
            batch_name: {KEYWIRE_TLS: Sample(), "sslyze": Sample(), "testssl.sh --fast": Sample()},
        }
        if args.before:
            for scenario in results.values():
                for tool in [t for t in scenario if t.startswith("keywire")]:
                    scenario[BEFORE + tool] = Sample()
        single, batch = results["1 target"], results[batch_name]
        for run in range(args.runs):
            for scenario, sample, chosen_urls, chosen_targets in (
                ("1 target", single, urls[:1], hostports[:1]),
                *([] if args.no_batch else [("batch", batch, urls, hostports)]),
            ):
                tools = [t for t in sample if not t.startswith("testssl")]
                order = tools if run % 2 == 0 else tools[::-1]
                for tool in order:
                    out = work / f"{tool.split()[0]}-{len(tool)}-{scenario}-{run}.json"
                    name = tool.removeprefix(BEFORE)
                    env = _before_env(args.before) if tool.startswith(BEFORE) else None
                    if name.startswith("keywire"):
                        cmd = keywire_command(
                            chosen_urls, pki.ca_file, out, only_tls=name == KEYWIRE_TLS
                        )
                    else:
                        cmd = sslyze_command(
                            sslyze,
                            chosen_targets,
                            pki.ca_file,
                            out,
                            depth=args.sslyze_commands == "matching",
                        )
                    wall, rss, code, cpu = measure(cmd, env=env)
                    sample[tool].add(wall, rss, cpu)
                    check = check_keywire if name.startswith("keywire") else check_sslyze
                    problem = f"exit {code}" if code else check(out, len(chosen_urls))
                    if problem:
                        sample[tool].failures.append(problem)
                    print(
                        f"run {run + 1} {scenario:8} {tool:28} {wall:6.2f}s {cpu:6.2f}s CPU "
                        f"{rss / 1024:6.0f} MiB {problem}",
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
                peak, cpu_total = 0, 0.0
                for (host, _), url in zip(targets, urls, strict=True):
                    _, rss, _, cpu = measure(testssl_command(testssl, host, url), env=env)
                    peak, cpu_total = max(peak, rss), cpu_total + cpu
                batch["testssl.sh --fast"].add(time.perf_counter() - started, peak, cpu_total)
        start_up = import_cost(before=args.before)
    finally:
        if gnutls is not None:
            gnutls.close()
        lab.close()

    text = table(results)
    failures = [
        f"{s} {t}: {f}" for s, ts in results.items() for t, x in ts.items() for f in x.failures
    ]
    start_lines = "\n".join(
        f"| `{name}` | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms |"
        for name, (wall, cpu) in start_up.items()
    )
    summary = (
        f"{text}\n\nStart-up (medians of 9, whole process):\n\n| command | wall | CPU |\n"
        f"|---|---|---|\n{start_lines}\n\nCPU: {os.cpu_count()} cores, shared; "
        f"load average at the end {os.getloadavg()[0]:.1f}.\n"
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
        before_note = (
            " (rows marked before: the same rounds with keywire from SRC, the tree before the work)"
            if args.before
            else ""
        )
        readme.write_text(
            f"{head}{MARK_BEGIN}\nMeasured {stamp}, `python bench/tls_bench.py --runs {args.runs} --testssl-runs {args.testssl_runs} --sslyze-commands {args.sslyze_commands}{' --before SRC' if args.before else ''}`{before_note}:\n\n{summary}{MARK_END}{tail}",
            encoding="utf-8",
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
