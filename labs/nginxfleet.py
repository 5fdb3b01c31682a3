"""A fleet of HTTPS APIs on loopback for the benchmarks: one nginx, one address per API.

:class:`NginxFleet` gives every API its own loopback address (127.0.1.1, 127.0.1.2, ...: a batch
of APIs is a batch of servers), an HTTPS side on 443 with its own certificate from one lab CA
(or none: ``tls=False`` for a cleartext fleet) and a cleartext side on 80, in a few profiles
that cycle:

- ``modern``: TLS 1.2-1.3, ECDHE with AES-GCM, HSTS; the cleartext side redirects to HTTPS;
- ``legacy``: TLS 1.0-1.2 with CBC suites, no HSTS; the cleartext side answers;
- ``tls13``: TLS 1.3 only, HSTS; the cleartext side redirects;
- ``rsa``: an RSA-2048 certificate, TLS 1.2 with static RSA key exchange too; the cleartext side
  answers.

nginx does the TLS in C, so the machine's cores go to the scanners being measured, not to the
lab. Needs root (ports 80 and 443) and nginx on PATH; everything listens on loopback only.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from keywire.lab.server import LoopbackServerBase

from .tlspki import Issued, make_ca, make_leaf, new_key, write_chain

PROFILES = ("modern", "legacy", "tls13", "rsa")
_TLS = {
    "modern": ("TLSv1.2 TLSv1.3", "ECDHE+AESGCM:ECDHE+CHACHA20"),
    "legacy": ("TLSv1 TLSv1.1 TLSv1.2", "ECDHE+AES:ECDHE+AESGCM:@SECLEVEL=0"),
    "tls13": ("TLSv1.3", "ECDHE+AESGCM"),
    "rsa": ("TLSv1.2", "ECDHE+AESGCM:AES128-GCM-SHA256:AES256-SHA"),
}
_ANSWER = 'default_type application/json; return 200 \'{"status": "ok"}\';'


def address(index: int, block: int = 1) -> str:
    """The loopback address of API number ``index`` (0-based) in address block ``block``."""
    return f"127.{block}.{index // 250}.{index % 250 + 1}"


class NginxFleet(LoopbackServerBase):
    """``count`` APIs on loopback behind one nginx; see the module docstring."""

    def __init__(self, count: int, *, tls: bool = True, block: int = 1, workers: int = 1) -> None:
        super().__init__(host=address(0, block))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.count = count
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.addresses = [address(i, block) for i in range(count)]
        self.port = 443 if tls else 80
        self.dir = Path(tempfile.mkdtemp(prefix="keywire-nginx-"))
        self.ca = make_ca("keywire bench root")
        self.ca_file = self.dir / "ca.pem"
        self.ca_file.write_bytes(self.ca.cert_pem())
        servers = [self._server(i) for i in range(count)]
        conf = self.dir / "nginx.conf"
        conf.write_text(
            f"worker_processes {workers};\nworker_rlimit_nofile 16384;\n"
            f"pid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log error;\n"
            "events { worker_connections 8192; }\n"
            "http {\n  access_log off;\n  keepalive_timeout 5;\n  server_tokens off;\n"
            "  ssl_session_cache off;\n" + "\n".join(servers) + "\n}\n",
            encoding="utf-8",
        )
        self._process = subprocess.Popen(  # noqa: S603 - nginx with our own configuration
            [binary, "-p", str(self.dir), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()

    def profile(self, index: int) -> str:
        return PROFILES[index % len(PROFILES)]

    def urls(self, paths: int = 1) -> list[str]:
        """One URL per API (``paths`` > 1: that many paths on each, API by API)."""
        suffixes = ["/"] if paths == 1 else [f"/v1/r{p}" for p in range(paths)]
        return [f"{self.scheme}://{a}{s}" for s in suffixes for a in self.addresses]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.addresses[0]}"

    def _server(self, index: int) -> str:
        where = self.addresses[index]
        if not self.tls:
            return f"  server {{ listen {where}:80; location / {{ {_ANSWER} }} }}"
        name = self.profile(index)
        protocols, ciphers = _TLS[name]
        leaf = self._leaf(where, rsa=name == "rsa")
        cert, key = write_chain(self.dir, f"leaf-{index}", leaf, self.ca)
        hsts = (
            ""
            if name in ("legacy", "rsa")
            else (
                'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;'
            )
        )
        cleartext = f"return 301 https://{where}$request_uri;" if hsts else _ANSWER
        return (
            f"  server {{ listen {where}:443 ssl; ssl_certificate {cert}; "
            f"ssl_certificate_key {key}; ssl_protocols {protocols}; ssl_ciphers {ciphers}; "
            f"ssl_prefer_server_ciphers on; {hsts} location / {{ {_ANSWER} }} }}\n"
            f"  server {{ listen {where}:80; location / {{ {cleartext} }} }}"
        )

    def _leaf(self, where: str, *, rsa: bool) -> Issued:
        key = new_key("rsa", 2048) if rsa else None
        return make_leaf(self.ca, names=[], ips=[where], key=key)

    def _wait_ready(self) -> None:
        import socket

        deadline = time.monotonic() + 30
        last = self.addresses[-1]
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"nginx did not start: {err.strip()[:500]}")
            try:
                with socket.create_connection((last, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start in 30 s")

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
