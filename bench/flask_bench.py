"""flask_keywire's costs: importing it, and serving a protected endpoint, at any store size.

Run from the repository root with keywire installed (``flask`` extra and gunicorn)::

    python bench/flask_bench.py                  # --sizes 10,10000,100000 --seconds 3 --runs 5

1. **Import.** ``import flask`` then ``import flask_keywire`` in a fresh interpreter (byte-compiled,
   after a warm-up run), ``--runs`` times; the median of each and of the difference.
2. **Test client.** One Flask app with KeyWire on a SQLite file holding N keys (10, 10,000,
   100,000): ``GET /v1/resource`` with a valid key over HTTPS (the protected endpoint) against
   ``GET /open`` in the same app (no key needed) and the same view in an app without KeyWire,
   alternating, median of ``--runs`` rounds; microseconds per request.
3. **gunicorn.** The same app served by a real gunicorn (2 sync workers) on 127.0.0.1 and a
   loopback load generator (raw sockets, pre-built requests, 4 client threads in one process)
   for ``--seconds`` per case: requests per second, protected against open, per store size.

The protected endpoint's goal (issue 11): within 2x of the open one at any store size. The
machine is shared (2 cores), so read the ratios; absolute numbers move between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PEPPER = "bench-pepper-0123456789-abcdefghijklmnopqrstuvwxyz"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

IMPORT_PROBE = """
import time
t0 = time.perf_counter()
import flask
t1 = time.perf_counter()
import flask_keywire
t2 = time.perf_counter()
import sys
n = sum(1 for m in sys.modules if m == "keywire" or m.startswith("keywire."))
print(f"{(t1 - t0) * 1000:.3f} {(t2 - t1) * 1000:.3f} {n}")
"""

APP_MODULE = textwrap.dedent(
    """
    import os

    from flask import Flask

    from flask_keywire import KeyWire, SQLiteKeyStore

    app = Flask("bench")
    app.config["KEYWIRE_PEPPER"] = os.environ["BENCH_PEPPER"]
    keywire = KeyWire(app, store=SQLiteKeyStore(os.environ["BENCH_DB"]))


    @app.get("/v1/resource")
    @keywire.required(scopes=["read"])
    def resource():
        return {"data": "sensitive resource"}


    @app.get("/open")
    def open_endpoint():
        return {"data": "sensitive resource"}
    """
)


def measure_import(runs: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    command = [sys.executable, "-c", IMPORT_PROBE]
    subprocess.run(command, env=env, check=True, capture_output=True)  # byte-compile
    flask_ms, extra_ms, modules = [], [], 0
    for _ in range(runs):
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        a, b, n = out.stdout.split()
        flask_ms.append(float(a))
        extra_ms.append(float(b))
        modules = int(n)
    return {
        "flask_ms": statistics.median(flask_ms),
        "flask_keywire_ms": statistics.median(extra_ms),
        "keywire_modules": modules,
    }


def fill_store(db: Path, count: int) -> str:
    """A SQLite key store with ``count`` keys; return the plaintext of one (created through
    flask_keywire), the others are bulk-inserted records with random ids and digests."""
    from flask import Flask

    from flask_keywire import KeyWire, SQLiteKeyStore

    app = Flask("bench_fill")
    app.config.update(KEYWIRE_PEPPER=PEPPER, KEYWIRE_LOG_FILTER=False)
    store = SQLiteKeyStore(db)
    keywire = KeyWire(app, store=store)
    with app.app_context():
        key, _ = keywire.create_key("bench", scopes=["read"])
    store.close()
    rows = []
    for _ in range(count - 1):
        key_id = "".join(secrets.choice(BASE62) for _ in range(12))
        digest = hmac.new(PEPPER.encode(), secrets.token_bytes(32), hashlib.sha256).hexdigest()
        rows.append((key_id, "filler", "kw_live", digest, "read", 1_900_000_000))
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany(
            "INSERT OR IGNORE INTO keywire_keys (id, name, prefix, digest, scopes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return key


def _load_app(db: Path):  # type: ignore[no-untyped-def]
    os.environ["BENCH_PEPPER"] = PEPPER
    os.environ["BENCH_DB"] = str(db)
    namespace: dict[str, object] = {"__name__": "bench_app"}
    exec(compile(APP_MODULE, "bench_app", "exec"), namespace)  # our own module text
    return namespace["app"]


def _plain_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("bench_plain")

    @app.get("/open")
    def open_endpoint():  # type: ignore[no-untyped-def]
        return {"data": "sensitive resource"}

    return app


def measure_test_client(db: Path, key: str, *, requests: int, runs: int) -> dict[str, float]:
    app = _load_app(db)
    plain = _plain_app()
    client = app.test_client()
    plain_client = plain.test_client()
    headers = {"X-API-Key": key}
    https = "https://localhost"

    def protected() -> None:
        response = client.get("/v1/resource", base_url=https, headers=headers)
        assert response.status_code == 200, response.status_code

    def open_() -> None:
        assert client.get("/open", base_url=https).status_code == 200

    def no_keywire() -> None:
        assert plain_client.get("/open", base_url=https).status_code == 200

    cases = {"protected": protected, "open (same app)": open_, "no KeyWire": no_keywire}
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():
        for _ in range(200):  # warm-up: connections, caches
            case()
    # Short slices, the cases alternating, so that every case sees the same machine load.
    chunk = 100
    for _ in range(max(1, requests // chunk) * runs):
        for name, case in cases.items():
            started = time.perf_counter()
            for _ in range(chunk):
                case()
            timings[name].append((time.perf_counter() - started) / chunk * 1e6)
    return {name: statistics.median(values) for name, values in timings.items()}


@contextlib.contextmanager
def gunicorn(directory: Path, db: Path, workers: int) -> Iterator[int]:
    (directory / "bench_app.py").write_text(APP_MODULE, encoding="utf-8")
    env = {
        **os.environ,
        "BENCH_PEPPER": PEPPER,
        "BENCH_DB": str(db),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    from gunicorn.config import KNOWN_SETTINGS

    extra = (
        ["--no-control-socket"]
        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS)
        else []
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            "127.0.0.1:0",
            "--chdir",
            str(directory),
            "--error-logfile",
            "-",
            "--backlog",
            "256",
            *extra,
            "bench_app:app",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    port = 0
    booted = 0
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    try:
        while (not port or booted < workers) and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = re.search(r"Listening at: \S+:(\d+)", line)
            if match:
                port = int(match.group(1))
            booted += "Booting worker" in line
        if not port:
            raise RuntimeError("gunicorn did not start")
        drain = threading.Thread(target=lambda: process.stdout.read(), daemon=True)  # type: ignore[union-attr]
        drain.start()
        # Wait until the workers answer.
        for _ in range(100):
            with contextlib.suppress(OSError):
                if _one(port, b"GET /open HTTP/1.1\r\nHost: x\r\n\r\n") == 200:
                    break
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _one(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return int(data[9:12])


def load(port: int, request: bytes, *, seconds: float, threads: int) -> float:
    """Requests per second a loopback client gets for ``request`` in ``seconds``."""
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def worker(index: int) -> None:
        while time.monotonic() < stop:
            try:
                if _one(port, request) == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except OSError:
                errors[index] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    if sum(errors):
        raise RuntimeError(f"{sum(errors)} failed requests")
    return sum(counts) / elapsed


def measure_gunicorn(
    directory: Path, db: Path, key: str, *, seconds: float, workers: int
) -> dict[str, float]:
    protected = (
        f"GET /v1/resource HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n"
        f"X-API-Key: {key}\r\n\r\n"
    ).encode()
    open_ = b"GET /open HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https\r\n\r\n"
    with gunicorn(directory, db, workers) as port:
        load(port, protected, seconds=0.5, threads=4)  # warm-up
        load(port, open_, seconds=0.5, threads=4)
        results = {"protected": [], "open (same app)": []}
        for _ in range(2):  # alternate, so both see the same machine load
            results["protected"].append(load(port, protected, seconds=seconds / 2, threads=4))
            results["open (same app)"].append(load(port, open_, seconds=seconds / 2, threads=4))
    return {name: statistics.mean(values) for name, values in results.items()}


def main() -> int:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-gunicorn", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    imports = measure_import(args.runs)
    print(f"## Import (median of {args.runs} fresh interpreters, byte-compiled)\n")
    print("| import flask | import flask_keywire on top | keywire modules loaded |")
    print("|---|---|---|")
    print(
        f"| {imports['flask_ms']:.1f} ms | {imports['flask_keywire_ms']:.1f} ms "
        f"| {imports['keywire_modules']} |\n"
    )

    print(
        f"## Test client (microseconds per request: median of {args.runs * args.requests // 100} "
        "slices of 100 requests, the cases alternating)\n"
    )
    print(
        "| keys in store | protected | open (same app) | no KeyWire | protected / open "
        "| protected / no KeyWire |"
    )
    print("|---|---|---|---|---|---|")
    gunicorn_rows = []
    with tempfile.TemporaryDirectory(prefix="kw-flask-bench-") as tmp:
        for size in sizes:
            directory = Path(tmp) / f"n{size}"
            directory.mkdir()
            db = directory / "keys.sqlite3"
            key = fill_store(db, size)
            result = measure_test_client(db, key, requests=args.requests, runs=args.runs)
            ratio = result["protected"] / result["open (same app)"]
            plain = result["protected"] / result["no KeyWire"]
            print(
                f"| {size:,} | {result['protected']:.0f} µs | {result['open (same app)']:.0f} µs "
                f"| {result['no KeyWire']:.0f} µs | {ratio:.2f}x | {plain:.2f}x |",
                flush=True,
            )
            if not args.no_gunicorn:
                gunicorn_rows.append(
                    (
                        size,
                        measure_gunicorn(
                            directory, db, key, seconds=args.seconds, workers=args.workers
                        ),
                    )
                )
    if gunicorn_rows:
        print(
            f"\n## gunicorn ({args.workers} sync workers; loopback load generator, 4 threads, "
            f"a new connection per request; {args.seconds:g} s per case)\n"
        )
        print("| keys in store | protected | open (same app) | open / protected |")
        print("|---|---|---|---|")
        for size, result in gunicorn_rows:
            ratio = result["open (same app)"] / result["protected"]
            print(
                f"| {size:,} | {result['protected']:.0f} req/s | "
                f"{result['open (same app)']:.0f} req/s | {ratio:.2f}x |"
            )
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
