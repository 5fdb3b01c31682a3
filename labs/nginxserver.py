"""nginx on loopback, for behaviours real deployments configure: 0-RTT (``ssl_early_data``),
session ticket and cache lifetimes (``ssl_session_timeout``), and an HTTP answer to every
request (which sslyze's early-data test needs).

nginx runs in the foreground as one process (``master_process off``) with everything under a
temporary prefix (configuration, pid, logs, temp paths) and listens on ``127.0.0.1`` only; the
port is one the OS just handed out. :meth:`close` stops it.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess  # nosec B404: the lab's own server, fixed arguments
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from keywire.lab.server import LoopbackServerBase


class NginxUnavailable(RuntimeError):
    """nginx is not installed or did not start."""


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class NginxServer(LoopbackServerBase):
    """nginx serving HTTPS with ``directives`` added to its ``server`` block, until closed."""

    scheme = "https"

    def __init__(
        self,
        cert: Path,
        key: Path,
        directives: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        executable: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        super().__init__(host=host)
        binary = executable or shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise NginxUnavailable("nginx is not installed")
        self.prefix = Path(tempfile.mkdtemp(prefix="keywire-nginx-"))
        self.port = _free_port(host)
        temp = " ".join(
            f"{kind}_temp_path {self.prefix / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        extra = "\n        ".join(f"{d.rstrip(';')};" for d in directives)
        config = f"""
daemon off;
master_process off;
worker_processes 1;
pid {self.prefix / "nginx.pid"};
error_log {self.prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    {temp}
    server {{
        listen {host}:{self.port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        {extra}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""
        path = self.prefix / "nginx.conf"
        path.write_text(config, encoding="ascii")
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [binary, "-p", str(self.prefix), "-e", str(self.prefix / "error.log"), "-c", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection((host, self.port), 0.5):
                return
            time.sleep(0.05)
        self.close()
        log = (
            (self.prefix / "error.log").read_text(errors="replace")[-500:]
            if (self.prefix / "error.log").exists()
            else ""
        )
        raise NginxUnavailable(f"nginx did not start: {log}")

    @property
    def url(self) -> str:
        host = "localhost" if self.host == "127.0.0.1" else self.host
        return f"https://{host}:{self.port}/"

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        shutil.rmtree(self.prefix, ignore_errors=True)
