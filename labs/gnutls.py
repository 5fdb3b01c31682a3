"""``gnutls-serv`` (Debian's gnutls-bin) on loopback, for RC4 and 3DES suites.

gnutls-serv has no option to choose its listen address and binds every interface. keywire
confines it with a tiny ``LD_PRELOAD`` shim, compiled here with the system C compiler, that
rewrites wildcard binds to 127.0.0.1 and ::1; after start-up it checks ``/proc/net/tcp*`` and
kills the server if anything listens on that port beyond loopback.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import socket
import subprocess  # nosec B404: the lab's own servers, fixed arguments
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from keywire.lab.server import LoopbackServerBase

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Rewrite binds to the wildcard address into binds to loopback (or KEYWIRE_BIND_ADDR); with
   KEYWIRE_BIND6_MAPPED, an IPv6 wildcard becomes the IPv4-mapped 127.0.0.1. */
int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in copy;
        memcpy(&copy, addr, sizeof copy);
        if (copy.sin_addr.s_addr == htonl(INADDR_ANY)) {
            const char *want = getenv("KEYWIRE_BIND_ADDR");
            copy.sin_addr.s_addr = inet_addr(want && *want ? want : "127.0.0.1");
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof copy);
        }
    }
    if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 copy;
        memcpy(&copy, addr, sizeof copy);
        if (memcmp(&copy.sin6_addr, &in6addr_any, sizeof in6addr_any) == 0) {
            if (getenv("KEYWIRE_BIND6_MAPPED")) {
                /* A dual-stack socket on ::ffff:127.0.0.1 answers on 127.0.0.1 (IPv4). */
                int off = 0;
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
                inet_pton(AF_INET6, "::ffff:127.0.0.1", &copy.sin6_addr);
            } else {
                copy.sin6_addr = in6addr_loopback;
            }
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof copy);
        }
    }
    return real_bind(fd, addr, len);
}
"""


class GnutlsUnavailable(RuntimeError):
    """gnutls-serv or a C compiler is missing, or the server could not be kept on loopback."""


@functools.lru_cache(maxsize=1)
def build_shim() -> Path:
    """Compile the bind shim once per process; return the shared object's path."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise GnutlsUnavailable("no C compiler to build the loopback shim")
    directory = Path(tempfile.mkdtemp(prefix="keywire-shim-"))
    source = directory / "loopback_bind.c"
    source.write_text(SHIM_SOURCE, encoding="ascii")
    target = directory / "loopback_bind.so"
    subprocess.run(  # noqa: S603 - fixed arguments
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(target), str(source), "-ldl"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as /proc shows them) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "0A":
                continue
            address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port:
                found.append(address)
    return found


def _is_loopback(hex_address: str) -> bool:
    if len(hex_address) == 8:
        return bytes.fromhex(hex_address)[::-1][0] == 127
    if hex_address.upper().startswith("0000000000000000FFFF0000"):  # ::ffff:a.b.c.d
        return _is_loopback(hex_address[24:])
    return hex_address == "00000000000000000000000001000000"


class GnutlsServer(LoopbackServerBase):
    """``gnutls-serv --http`` with ``priority`` on ``address``, confined to loopback."""

    scheme = "https"

    def __init__(
        self,
        priority: str,
        cert_file: Path,
        key_file: Path,
        *,
        address: str = "127.0.0.1",
        executable: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if not address.startswith("127."):
            raise ValueError("lab servers listen on loopback only")
        super().__init__(host=address)
        binary = executable or shutil.which("gnutls-serv")
        if binary is None:
            raise GnutlsUnavailable("gnutls-serv is not installed (Debian: gnutls-bin)")
        shim = build_shim()
        self.port = _free_port(address)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LD_PRELOAD": str(shim),
            "KEYWIRE_BIND_ADDR": address,
        }
        # gnutls-serv logs every failed handshake: to a file, since a pipe nobody drains
        # fills up and blocks the server.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                binary,
                "--http",
                "--disable-client-cert",
                "--port",
                str(self.port),
                "--priority",
                priority,
                "--x509certfile",
                str(cert_file),
                "--x509keyfile",
                str(key_file),
                *extra_args,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                error = self._log.read(2000).decode(errors="replace")
                raise GnutlsUnavailable(f"gnutls-serv exited: {error.strip()[:300]}")
            listening = _listeners(self.port)
            if any(not _is_loopback(a) for a in listening):
                raise GnutlsUnavailable(
                    "gnutls-serv listened beyond loopback; the shim did not load"
                )
            if listening:
                return
            time.sleep(0.05)
        raise GnutlsUnavailable("gnutls-serv did not start listening within 10s")

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/"

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._log.close()
