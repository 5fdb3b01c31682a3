"""``openssl s_server`` on loopback, for what Python's ``ssl`` cannot serve: TLS 1.3 early data
(0-RTT, with or without OpenSSL's anti-replay protection) and custom DH parameters.

The server listens on ``127.0.0.1`` at a port the OS chooses (``-accept 127.0.0.1:0``; the port
is read from its ``ACCEPT`` line). It serves one connection at a time, which suits the lab's
short probes. Its standard input stays open (at end of input s_server would close every
connection) and the process is killed on :meth:`close`.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess  # nosec B404: the lab's own server, fixed arguments
import threading
from collections.abc import Sequence
from pathlib import Path

from keywire.lab.server import LoopbackServerBase


class OpensslUnavailable(RuntimeError):
    """The openssl command is missing or the server did not start."""


class OpensslServer(LoopbackServerBase):
    """``openssl s_server`` with ``options`` (e.g. ``("-early_data",)``) until closed."""

    scheme = "https"

    def __init__(
        self,
        cert: Path,
        key: Path,
        options: Sequence[str] = (),
        *,
        host: str = "127.0.0.1",
        executable: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        super().__init__(host=host)
        binary = executable or shutil.which("openssl")
        if binary is None:
            raise OpensslUnavailable("the openssl command is not installed")
        args = [binary, "s_server", "-accept", f"{host}:0", "-cert", str(cert), "-key", str(key)]
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [*args, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.port = self._read_port(startup_timeout)
        # Keep draining its output so that it never blocks on a full pipe.
        self._drain = threading.Thread(target=self._discard, daemon=True)
        self._drain.start()

    def _read_port(self, timeout: float) -> int:
        assert self._process.stdout is not None
        found: list[int] = []

        def read() -> None:
            assert self._process.stdout is not None
            for line in self._process.stdout:
                match = re.match(r"ACCEPT .*:(\d+)\s*$", line)
                if match:
                    found.append(int(match.group(1)))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            self.close()
            raise OpensslUnavailable("openssl s_server did not start listening")
        return found[0]

    def _discard(self) -> None:
        assert self._process.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for _ in self._process.stdout:
                pass

    @property
    def url(self) -> str:
        host = "localhost" if self.host == "127.0.0.1" else self.host
        return f"https://{host}:{self.port}/"

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
