"""``keywire worker --processes N``: a supervisor that restarts a child that dies and stops
them all on SIGTERM; a broker that cannot be reached is one clear line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import free_port

pytestmark = pytest.mark.tools


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _wait_children(pid: int, count: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while len(found := _children(pid)) != count:
        assert time.monotonic() < deadline, f"expected {count} worker processes, found {found}"
        time.sleep(0.05)
    return found


def test_a_child_that_dies_is_started_again_and_sigterm_stops_all(workers):
    supervisor = workers("--processes", "2", "--threads", "2")
    first = _wait_children(supervisor.pid, 2)
    time.sleep(1.0)  # both serving
    import os

    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        now = _children(supervisor.pid)
        if len(now) == 2 and first[0] not in now:
            break
        assert time.monotonic() < deadline, f"not restarted: {now}"
        time.sleep(0.05)
    assert first[1] in now  # the other one was left alone
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(60) == 0
    for pid in now:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_an_unreachable_broker_is_one_clear_line():
    port = free_port()  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "keywire", "worker", "--broker", f"redis://:pw-s3cret@127.0.0.1:{port}/0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"the broker redis://:***@127.0.0.1:{port}/0 failed" in result.stderr
    assert "pw-s3cret" not in result.stderr and "Traceback" not in result.stderr
