"""What observing costs a scan, and what judging a saved scan costs, on the loopback lab.

Run from the repository root with keywire installed:  python bench/observations_bench.py [--runs N]

Every scan captures its observations before the checks judge them (encoded, scrubbed, decoded:
:mod:`keywire.observations.capture`), saved or not. For two targets (a conformant HTTPS API with
its cleartext side, and one whose answers are 1 MiB bodies holding secrets), it measures, in
this process: the scan's duration, the time spent capturing, the file ``--save-observations``
writes, and ``keywire.observations.judge`` on that file. Medians over the runs. Loopback only.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify

import keywire._scanner as scanner
from keywire import ScanOptions, parse_target, scan
from keywire.lab import LabServer
from keywire.lab.certs import make_lab_pki
from keywire.observations import judge

SECRET = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented test-key shape


def conformant_app() -> Flask:
    app = Flask("bench_conformant")

    @app.after_request
    def hsts(response):  # type: ignore[no-untyped-def]
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        return jsonify(error="authentication required"), 401, {"WWW-Authenticate": "Bearer"}

    return app


def large_body_app() -> Flask:
    app = Flask("bench_large")
    body = ('{"items": [' + ",".join(f'{{"id": {i}, "key": "{SECRET}"}}' for i in range(20000)))[
        : 1024 * 1024
    ]

    @app.get("/v1/resource")
    def resource():  # type: ignore[no-untyped-def]
        return Response(body, mimetype="application/json")

    return app


class CaptureClock:
    """Wraps the scanner's capture step and adds up the time spent in it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._real: Callable[..., Any] = scanner.capture

    def __enter__(self) -> CaptureClock:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return self._real(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        scanner.capture = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        scanner.capture = self._real  # type: ignore[assignment]


def measure(name: str, target: Any, options: ScanOptions, runs: int) -> None:
    scans, captures, judges, sizes = [], [], [], []
    for _ in range(runs):
        handle, path = tempfile.mkstemp(suffix=".jsonl")
        os.close(handle)
        try:
            with CaptureClock() as clock:
                started = time.perf_counter()
                saving = dataclasses.replace(options, save_observations=path)
                report = scan([target], options=saving)
                scans.append(time.perf_counter() - started)
            captures.append(clock.seconds)
            sizes.append(os.path.getsize(path))
            with open(path, encoding="utf-8") as saved:
                assert SECRET not in saved.read(), "a raw secret reached the file"
            started = time.perf_counter()
            judged = judge(path)
            judges.append(time.perf_counter() - started)
            assert judged.findings == report.findings
        finally:
            os.unlink(path)
    print(
        f"| {name} | {statistics.median(scans) * 1000:.0f} ms | "
        f"{statistics.median(captures) * 1000:.1f} ms | {statistics.median(sizes) / 1024:.0f} KiB | "
        f"{statistics.median(judges) * 1000:.1f} ms |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pki = make_lab_pki()
    print("| target | scan | of which capture | file | judge |")
    print("|---|---|---|---|---|")
    conformant = conformant_app()
    with (
        LabServer(conformant, ssl_context=pki.server_context()) as https,
        LabServer(conformant) as http,
    ):
        target = parse_target(https.url + "/v1/resource", http_port=http.port)
        options = ScanOptions(ca_file=str(pki.ca_file), timeout=5)
        measure("HTTPS API + cleartext side, every family", target, options, args.runs)
    with LabServer(large_body_app()) as server:
        target = parse_target(server.url + "/v1/resource")
        options = ScanOptions(timeout=5, skip=("tls",))
        measure("cleartext, 1 MiB bodies full of secrets", target, options, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
