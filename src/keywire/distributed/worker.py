"""``keywire worker``: Dramatiq worker processes that scan the targets of distributed scans.

``keywire worker --broker redis://HOST:PORT/DB --processes P --threads T`` runs ``P`` worker
processes (``P = 1``: this process itself), each a Dramatiq :class:`~dramatiq.Worker` with ``T``
threads, taking messages from keywire's queue: one target at a time per thread, on the
process's one event loop (:mod:`.actor`). With several processes, this one supervises them:
a process that dies is started again (after a pause that grows while they keep dying), and
SIGTERM or Ctrl-C stops them all gracefully (each finishes or gives back its messages).

Credentials (``--header``, ``--header-env``) are this worker's own: a scan's messages name the
headers they need, never their values. Children get them, and the broker's URL, on a pipe
(never argv or the environment).

A worker killed outright (SIGKILL, a lost machine) is noticed by the others after
``--heartbeat-timeout`` seconds without a word from it: Dramatiq then delivers its messages
again, and the scan's exactly-once records (:mod:`._keys`) make sure no target ends twice.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from .._dataclass import dataclass

log = logging.getLogger("keywire.worker")

#: A child that keeps dying is restarted after at most this long.
LONGEST_RESTART_PAUSE_S = 30.0


@dataclass(frozen=True)
class WorkerConfig:
    """How to run: the broker, processes, threads, heartbeat timeout, this worker's credentials."""

    url: str
    processes: int = 1
    threads: int = 8
    heartbeat_timeout_s: float = 15.0
    credentials: Mapping[str, str] = field(default_factory=dict)
    verbose: int = 0

    def to_line(self) -> bytes:
        data = {
            "url": self.url,
            "threads": self.threads,
            "heartbeat_timeout_s": self.heartbeat_timeout_s,
            "credentials": dict(self.credentials),
            "verbose": self.verbose,
        }
        return (json.dumps(data) + "\n").encode("utf-8")


def run(config: WorkerConfig, *, ready: threading.Event | None = None) -> int:
    """Run the worker(s) until SIGTERM or SIGINT; the exit code."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from ._broker import check_reachable

    check_reachable(config.url)  # a clear error now, not threads retrying forever
    if config.processes <= 1:
        serve(config, stopping)
        return 0
    return _supervise(config, stopping)


def serve(config: WorkerConfig, stopping: threading.Event, *, parent: int | None = None) -> None:
    """One Dramatiq worker in this process until ``stopping`` is set (or, for a child, until
    its supervisor, process ``parent``, is gone)."""
    from dramatiq import Worker

    from ._broker import make_broker, public_url
    from .actor import WorkerState, declare, install

    install(WorkerState(url=config.url, credentials=dict(config.credentials)))
    broker = make_broker(config.url, heartbeat_timeout_s=config.heartbeat_timeout_s)
    declare(broker)
    worker = Worker(broker, worker_threads=config.threads, worker_timeout=1000)
    worker.start()
    print(
        f"keywire worker {os.getpid()}: {config.threads} thread(s) on {public_url(config.url)}",
        file=sys.stderr,
        flush=True,
    )
    beat = max(0.5, config.heartbeat_timeout_s / 4)
    last_beat = time.monotonic()
    try:
        while not stopping.wait(0.5):
            if parent is not None and os.getppid() != parent:
                break  # the supervisor is gone: no orphan keeps scanning
            if time.monotonic() - last_beat >= beat:
                last_beat = time.monotonic()
                _heartbeat(broker)
    finally:
        worker.stop(timeout=30_000)
        broker.close()


def _heartbeat(broker: Any) -> None:
    """Tell the broker this process lives. Dramatiq's consumer beats only when it fetches, and
    a worker whose threads are all busy with long targets fetches nothing: without this, the
    others would take it for dead and scan its targets a second time."""
    from ._broker import QUEUE

    try:
        broker.do_qsize(QUEUE)
    except Exception as exc:  # the broker is away: Dramatiq's own threads say so too
        log.debug("heartbeat failed: %s", type(exc).__name__)


def _supervise(config: WorkerConfig, stopping: threading.Event) -> int:
    children: list[subprocess.Popen[bytes] | None] = [None] * config.processes
    pauses = [0.0] * config.processes
    next_start = [0.0] * config.processes
    try:
        while not stopping.is_set():
            now = time.monotonic()
            for number, child in enumerate(children):
                if child is not None and child.poll() is None:
                    continue
                if child is not None:
                    log.warning(
                        "keywire worker process %d ended (exit code %s): started again",
                        child.pid,
                        child.returncode,
                    )
                    pauses[number] = min(LONGEST_RESTART_PAUSE_S, max(1.0, pauses[number] * 2))
                    next_start[number] = now + pauses[number]
                    children[number] = None
                if now >= next_start[number]:
                    children[number] = _start_child(config)
            stopping.wait(0.5)
    finally:
        _stop_children([c for c in children if c is not None])
    return 0


def _start_child(config: WorkerConfig) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-m", "keywire.distributed.worker"], stdin=subprocess.PIPE
    )
    assert child.stdin is not None
    child.stdin.write(config.to_line())
    child.stdin.close()
    return child


def _stop_children(children: list[subprocess.Popen[bytes]], grace: float = 40.0) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    give_up = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(0.1, give_up - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    """A child process: its configuration on stdin, then serve until SIGTERM."""
    from .. import _json

    data: Any = _json.loads(sys.stdin.buffer.readline())
    config = WorkerConfig(
        url=str(data["url"]),
        threads=int(data["threads"]),
        heartbeat_timeout_s=float(data["heartbeat_timeout_s"]),
        credentials={str(k): str(v) for k, v in dict(data["credentials"]).items()},
        verbose=int(data["verbose"]),
    )
    from .._logsafe import configure, protect

    configure(config.verbose)
    protect(config.credentials.values())
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides
    serve(config, stopping, parent=os.getppid())


if __name__ == "__main__":
    main()
