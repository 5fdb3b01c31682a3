"""Scan time of `keywire demo` and of one HTTP(S) target, whole process, on the loopback lab.

Run from the repository root with keywire installed:  python bench/core_bench.py [--runs N]

It starts a conformant lab API (HTTPS with a throwaway CA, cleartext side answering 403) and the
seed's vulnerable app, then times `keywire scan` against each and `keywire demo`, as separate
processes (start-up included), and prints medians. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask, jsonify

from keywire.lab import LabServer
from keywire.lab.certs import make_lab_pki
from keywire.lab.seed import create_seed_app


def conformant_app() -> Flask:
    app = Flask("bench_conformant")

    @app.before_request
    def refuse_cleartext():  # type: ignore[no-untyped-def]
        from flask import request

        if not request.is_secure:
            return jsonify(error="use https"), 403
        return None

    @app.after_request
    def hsts(response):  # type: ignore[no-untyped-def]
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        return jsonify(error="authentication required"), 401, {"WWW-Authenticate": "Bearer"}

    return app


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> int:
    # Each run records into a store of its own, as a first scan does: the user's default store
    # holds the history of every earlier run, and its size is not what is measured here.
    os.environ.setdefault(
        "KEYWIRE_STORE", str(Path(tempfile.mkdtemp(prefix="keywire-bench-store-")) / "keywire.db")
    )
    # Measure what users run: byte-compiled modules. Some build environments set
    # PYTHONDONTWRITEBYTECODE, which would make every keywire run recompile its sources.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    keywire = [sys.executable, "-m", "keywire.cli"]
    pki = make_lab_pki()
    try:
        with (
            LabServer(conformant_app(), ssl_context=pki.server_context()) as https,
            LabServer(conformant_app()) as http,
            LabServer(create_seed_app()) as seed,
        ):
            cases = {
                "one HTTPS target (+ its cleartext side)": [
                    *keywire,
                    "scan",
                    f"{https.url}/v1/resource",
                    "--http-port",
                    str(http.port),
                    "--ca-file",
                    str(pki.ca_file),
                    "--format",
                    "json",
                ],
                "the seed app (one cleartext target)": [
                    *keywire,
                    "scan",
                    f"{seed.url}/v1/resource",
                    "--format",
                    "json",
                ],
                "keywire demo (lab start + scan + stop)": [*keywire, "demo", "--format", "json"],
                "python -c 'import keywire' (start-up floor)": [
                    sys.executable,
                    "-c",
                    "import keywire",
                ],
            }
            for cmd in cases.values():
                timed(cmd)  # warm-up: byte-compile, fill the page cache
            results = {name: [timed(cmd) for _ in range(args.runs)] for name, cmd in cases.items()}
    finally:
        shutil.rmtree(pki.directory, ignore_errors=True)
    print(f"{'case':<48} {'median':>8} {'min':>8} {'max':>8}   ({args.runs} runs)")
    for name, times in results.items():
        print(
            f"{name:<48} {statistics.median(times):>7.3f}s {min(times):>7.3f}s {max(times):>7.3f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
