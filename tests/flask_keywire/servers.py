"""Real servers for flask_keywire tests: gunicorn with several workers, werkzeug, raw HTTP.

The application under test is written to a file and served by a real gunicorn (``sync`` workers,
so each request is handled by whichever process accepts it) or by werkzeug's threaded server, on
127.0.0.1, against a SQLite file the test also opens. Raw sockets send what ordinary clients
cannot: the same header twice.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PEPPER = "server-test-pepper-0123456789-abcdefghijklmnopqrstuvwxyz"

REPO = Path(__file__).resolve().parents[2]

#: The module gunicorn serves: :func:`build_app` configured from the environment.
APP_SOURCE = textwrap.dedent(
    """
    import os

    from tests.flask_keywire.servers import build_app

    app = build_app(
        os.environ["KW_TEST_DB"],
        pepper=os.environ["KW_TEST_PEPPER"],
        timeout=float(os.environ.get("KW_TEST_TIMEOUT", "5")),
        protect_all=os.environ.get("KW_TEST_PROTECT_ALL") == "1",
    )
    """
)


def build_app(db: str | Path, *, pepper: str = PEPPER, timeout: float = 5.0, **config: Any) -> Any:
    """The API the server tests drive: a protected resource, a form, a view that raises with the
    Authorization header in its message, an exempt public page."""
    from flask import Flask, request

    from flask_keywire import KeyWire, SQLiteKeyStore, current_key

    app = Flask("kw_served")
    app.config.update(
        KEYWIRE_PEPPER=pepper,
        KEYWIRE_STORE=SQLiteKeyStore(db, timeout=timeout),
        KEYWIRE_DEFAULT_SCOPES=["read"],
    )
    app.config.update({f"KEYWIRE_{k.upper()}": v for k, v in config.items()})
    keywire = KeyWire(app)

    @app.get("/v1/resource")
    @keywire.required(scopes=["read"])
    def resource() -> Any:
        record = current_key()
        return {"data": "sensitive resource", "owner": record.name if record else None}

    @app.route("/v1/form", methods=["POST"])
    @keywire.required(scopes=["read"])
    def form() -> Any:
        return {"fields": sorted(request.form)}

    @app.get("/v1/boom")
    @keywire.required(scopes=["read"])
    def boom() -> Any:
        raise RuntimeError("cannot parse " + request.headers.get("Authorization", ""))

    @app.route("/v1/options", methods=["GET", "OPTIONS"])
    def options_view() -> Any:
        return {"ran": "the view", "method": request.method}

    @app.get("/public")
    @keywire.exempt
    def public() -> Any:
        return {"public": True}

    return app


def create_keys(
    db: str | Path, count: int = 1, *, scopes: tuple[str, ...] = ("read",)
) -> list[tuple[str, str]]:
    """``count`` keys in the SQLite file ``db``: [(key, id), ...]."""
    from flask import Flask

    from flask_keywire import KeyWire, SQLiteKeyStore

    app = Flask("kw_keys")
    app.config.update(KEYWIRE_PEPPER=PEPPER, KEYWIRE_LOG_FILTER=False)
    store = SQLiteKeyStore(db)
    keywire = KeyWire(app, store=store)
    with app.app_context():
        made = [keywire.create_key(f"client-{i}", scopes=list(scopes)) for i in range(count)]
    store.close()
    return [(key, record.id) for key, record in made]


def revoked_reason(db: str | Path, key_id: str) -> str | None:
    """What the SQLite file says, read with a connection of its own."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        row = conn.execute(
            "SELECT revoked_reason FROM keywire_keys WHERE id = ?", (key_id,)
        ).fetchone()
    assert row is not None, key_id
    return None if row[0] is None else str(row[0])


def write_app(directory: Path) -> Path:
    path = directory / "kwapp.py"
    path.write_text(APP_SOURCE, encoding="utf-8")
    return path


@dataclass
class Gunicorn:
    process: subprocess.Popen[str]
    port: int
    scheme: str
    log: list[str]
    access_log: Path

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return "\n".join(self.log)


def _gunicorn_args() -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    # gunicorn >= 24 opens a control socket in the home directory; tests must not share one.
    return ["--no-control-socket"] if "control_socket_disable" in names else []


@contextlib.contextmanager
def gunicorn(
    directory: Path,
    db: Path,
    *,
    workers: int = 2,
    tls: tuple[Path, Path] | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    access_format: str | None = None,
) -> Iterator[Gunicorn]:
    """A real gunicorn serving :data:`APP_SOURCE` on 127.0.0.1 (port from the OS), stopped after."""
    write_app(directory)
    access_log = directory / f"access-{time.monotonic_ns()}.log"
    command = [
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
        "--access-logfile",
        str(access_log),
        "--graceful-timeout",
        "2",
        *_gunicorn_args(),
        *args,
    ]
    if access_format is not None:
        command += ["--access-logformat", access_format]
    if tls is not None:
        command += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
    command.append("kwapp:app")
    environment = {
        **os.environ,
        "KW_TEST_PEPPER": PEPPER,
        "KW_TEST_DB": str(db),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        **(env or {}),
    }
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    lines: list[str] = []
    ready: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            ready.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    port = 0
    booted = 0
    deadline = time.monotonic() + 30
    try:
        while booted < workers or not port:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                raise RuntimeError("gunicorn did not start:\n" + "\n".join(lines))
            try:
                line = ready.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            found = re.search(r"Listening at: \S+://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
            if "Booting worker" in line:
                booted += 1
        # "Booting worker" comes before the application is loaded: wait until one answers.
        while not _answers(port, tls is not None):
            if time.monotonic() > deadline or process.poll() is not None:
                time.sleep(0.5)  # let the reader collect gunicorn's last words
                raise RuntimeError("gunicorn did not start:\n" + "\n".join(lines))
            time.sleep(0.1)
        server = Gunicorn(
            process=process,
            port=port,
            scheme="https" if tls else "http",
            log=lines,
            access_log=access_log,
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def _answers(port: int, tls: bool) -> bool:
    # A readiness probe only: the certificate is checked by the tests themselves.
    context = ssl._create_unverified_context() if tls else None
    try:
        raw_request(port, http_request("GET", "/public", []), context=context, timeout=2)
    except (OSError, AssertionError):
        return False
    return True


def raw_request(
    port: int,
    request: bytes,
    *,
    context: ssl.SSLContext | None = None,
    timeout: float = 15,
) -> tuple[int, bytes]:
    """Send ``request`` as it is (duplicate headers and all); return (status, whole response)."""
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=timeout))
        if context is not None:
            sock = stack.enter_context(context.wrap_socket(sock, server_hostname="localhost"))
        sock.sendall(request)
        chunks = []
        total = 0
        while total < 1 << 20:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    data = b"".join(chunks)
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    assert match, data[:200]
    return int(match.group(1)), data


def http_request(
    method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> bytes:
    """A raw HTTP/1.1 request with ``headers`` in order, repeated names kept."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def wait_until(predicate, *, timeout: float = 15.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (a bounded loop)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
