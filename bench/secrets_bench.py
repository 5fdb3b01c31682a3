"""Benchmark: secret-scanning throughput and a 50-endpoint spec-driven scan on loopback.

Run from the repository root: ``python bench/secrets_bench.py`` (needs the ``flask`` extra).

1. ``find_secrets`` over a 10 MiB mixed body (JSON, HTML, JavaScript, base64 and hex blobs,
   prose) with planted secrets, against the same catalogue with its literals removed (every entry
   a full regular-expression pass, the scanner's fallback), to show what the literal index buys.
2. A spec-driven scan (``ScanOptions(spec=...)``) of the conformant spec lab with 50 GET endpoints:
   HTTPS and cleartext sides on 127.0.0.1, every check family on every endpoint.

Nothing leaves the machine; the planted secrets are generated here at run time.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared lab: labs/

MIB = 1024 * 1024


def mixed_body(size: int, seed: int = 7) -> tuple[str, int]:
    """A deterministic mixed body of about ``size`` characters and how many secrets it holds."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    words = [
        "the",
        "api",
        "key",
        "token",
        "secret",
        "user",
        "account",
        "order",
        "desk-top",
        "skip",
        "mask",
        "task_id",
        "session",
        "payment",
        "request",
        "response",
        "header",
        "value",
        "public",
        "private",
        "cache",
        "data",
    ]

    def rand(n: int, alphabet: str = alnum) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    planted = [
        lambda: "sk" + "_live_" + rand(24),
        lambda: "AKIA" + rand(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        lambda: "xoxb-" + rand(12, string.digits) + "-" + rand(13, string.digits) + "-" + rand(24),
        lambda: "AIza" + rand(35),
        lambda: "glpat-" + rand(20),
        lambda: "npm_" + rand(36),
        lambda: "postgres://app:" + rand(18) + "@db.internal/app",
        lambda: "hf_" + rand(34, string.ascii_letters),
    ]
    parts: list[str] = []
    total = secrets = 0
    next_secret = 256 * 1024
    while total < size:
        kind = rng.random()
        if kind < 0.3:
            piece = " ".join(rng.choice(words) for _ in range(40))
        elif kind < 0.5:
            piece = (
                f'{{"id": {rng.randrange(10**9)}, "name": "{rng.choice(words)}", '
                f'"hash": "{rng.getrandbits(128):032x}", "url": "https://cdn.example.test/{rand(8)}"}}'
            )
        elif kind < 0.65:
            piece = base64.b64encode(rng.randbytes(300)).decode()
        elif kind < 0.8:
            piece = f'<div class="row"><a href="/p/{rand(6)}">{rng.choice(words)}</a></div>'
        else:
            piece = f"function f{rng.randrange(1000)}(a){{return a.map(x=>x*2).filter(Boolean)}};"
        if total >= next_secret:
            piece += f' "credential": "{planted[secrets % len(planted)]()}" '
            secrets += 1
            next_secret += 256 * 1024
        parts.append(piece)
        total += len(piece) + 1
    return "\n".join(parts)[:size], secrets


def bench_secrets(runs: int) -> dict[str, float]:
    from keywire.secrets import CATALOGUE, find_secrets

    body, planted = mixed_body(10 * MIB)
    full_pass = tuple(dataclasses.replace(t, prefixes=(), anchors=()) for t in CATALOGUE)

    def timed(catalogue: tuple[object, ...]) -> tuple[float, int]:
        times = []
        hits = 0
        for _ in range(runs):
            started = time.perf_counter()
            hits = len(find_secrets(body, where="body", catalogue=catalogue))  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        return statistics.median(times), hits

    indexed, indexed_hits = timed(CATALOGUE)
    naive, naive_hits = timed(full_pass)
    assert indexed_hits == naive_hits == planted, (indexed_hits, naive_hits, planted)
    return {
        "body_mib": len(body) / MIB,
        "entries": len(CATALOGUE),
        "providers": len({t.provider for t in CATALOGUE}),
        "planted": planted,
        "indexed_s": indexed,
        "indexed_mb_s": len(body) / 1e6 / indexed,
        "naive_s": naive,
        "naive_mb_s": len(body) / 1e6 / naive,
    }


def bench_spec_scan(runs: int, endpoints: int) -> dict[str, float]:
    from keywire import ScanOptions, scan
    from keywire.lab import LabServer
    from keywire.lab.certs import make_lab_pki
    from labs.spec_api import SpecLabState, create_spec_app

    pki = make_lab_pki()
    times: list[float] = []
    requests = probed = 0
    for _ in range(runs):
        # the lab spec has 5 GET endpoints of its own (and 2 operations keywire skips)
        state = SpecLabState(extra_endpoints=endpoints - 5)
        app = create_spec_app(state)
        with (
            LabServer(app, ssl_context=pki.server_context()) as https,
            LabServer(app) as http,
        ):
            options = ScanOptions(
                spec=https.url + "/openapi.json",
                ca_file=str(pki.ca_file),
                http_port=http.port,
                max_endpoints=endpoints,
                timeout=5,
                scan_timeout=120,
            )
            started = time.perf_counter()
            report = scan([], options=options)
            times.append(time.perf_counter() - started)
        assert report.complete and not report.findings, "the conformant lab must be clean"
        probed = len(report.targets) - 1
        requests = len(state.seen)
    return {
        "endpoints": probed,
        "requests": requests,
        "wall_s": statistics.median(times),
        "best_s": min(times),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--endpoints", type=int, default=50)
    args = parser.parse_args()
    s = bench_secrets(args.runs)
    print("## Secret scanning (10 MiB mixed body)")
    print(
        f"catalogue: {s['entries']:.0f} entries, {s['providers']:.0f} providers; planted: {s['planted']:.0f}"
    )
    print("| scanner | median time | throughput |")
    print("|---|---|---|")
    print(f"| literal index (keywire) | {s['indexed_s']:.3f} s | {s['indexed_mb_s']:.1f} MB/s |")
    print(f"| one full regex pass per entry | {s['naive_s']:.3f} s | {s['naive_mb_s']:.1f} MB/s |")
    r = bench_spec_scan(args.runs, args.endpoints)
    print()
    print(f"## Spec-driven scan ({r['endpoints']:.0f} endpoints, loopback lab)")
    print(f"requests received by the lab: {r['requests']:.0f}")
    print(f"wall time: median {r['wall_s']:.2f} s, best {r['best_s']:.2f} s over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
