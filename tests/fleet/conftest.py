"""What the fleet tests share: running ``keywire scan`` as a real process, and its workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labs.fleet import FleetServer

#: Checks that answer quickly on a plain HTTP fleet (every probe still goes through the runner).
QUICK = ("--only", "cleartext", "--fail-on", "none", "--no-config")


def keywire(*args: str, cwd: Path | None = None, **kwargs: object) -> subprocess.Popen[bytes]:
    """``python -m keywire ARGS`` as a process of its own (workers, signals, a real stdout)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Unbuffered pipes: a readline() must not read ahead, or the bytes it read past the line
    # are lost to a later communicate() (which reads the file descriptors directly).
    return subprocess.Popen(
        [sys.executable, "-m", "keywire", *args],
        bufsize=0,
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=kwargs.pop("stderr", subprocess.PIPE),
        stdin=kwargs.pop("stdin", subprocess.DEVNULL),
        cwd=cwd,
        env=env,
    )


def ended(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` if it still runs, and close its pipes."""
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its workers)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n")]


def targets_of(path: Path) -> list[object]:
    return [r["target"] for r in records(path) if r["record"] == "target"]


@pytest.fixture
def fleet() -> Iterator[Callable[..., FleetServer]]:
    """Start :class:`labs.fleet.FleetServer` instances, closed at the end of the test."""
    servers: list[FleetServer] = []

    def start(**kwargs: object) -> FleetServer:
        server = FleetServer(**kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
