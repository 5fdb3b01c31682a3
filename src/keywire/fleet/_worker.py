"""One worker process of a fleet scan: ``python -m keywire.fleet._worker``.

The parent (:mod:`keywire.fleet._pool`) writes one line to the worker's stdin, the job (its
share of the targets and the scan's options, credentials included: a pipe, never argv or the
environment), and keeps stdin open. The worker scans its targets with the one runner
(:func:`keywire._scanner.stream_plan`) and writes each result as a target record line on stdout
the moment it is finished, then a ``done`` line. Finishing (policy, baseline), scoring the
fleet and writing reports are the parent's.

The worker ignores Ctrl-C (the parent decides: it stops every worker and exits 130), and ends at
once when its stdin closes: a parent that died leaves no worker scanning behind it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from .. import _gcpause, _json
from ..scanoptions import ScanOptions

#: Job fields that are tuples in ScanOptions and lists in JSON.
_COLLECTIONS = ("only", "skip", "resolve")


def options_to_job(options: ScanOptions) -> dict[str, Any]:
    """The scan options as JSON values (for the job line)."""
    job = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
    for name in _COLLECTIONS:
        job[name] = list(job[name])
    job["headers"] = dict(options.headers)
    return job


def options_from_job(job: Mapping[str, Any]) -> ScanOptions:
    values = dict(job)
    for name in _COLLECTIONS:
        values[name] = tuple(values.get(name) or ())
    return ScanOptions(**values)


def main() -> None:
    _gcpause.pause()  # until the first result (see keywire._gcpause)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Records go to the original stdout; anything else printed by accident goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    job = _json.loads(sys.stdin.buffer.readline())
    if not isinstance(job, dict):
        raise SystemExit("keywire worker: no job on stdin")
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if job.get("verbose"):
        from .._logsafe import configure

        configure(int(job["verbose"]))
    asyncio.run(_run(job, out))


def _exit_with_parent() -> None:
    """End the process when the parent closes stdin (or dies)."""
    try:
        while os.read(0, 4096):  # the raw descriptor: no buffer lock held at shutdown
            pass
    except OSError:
        pass
    os._exit(0)


async def _run(job: dict[str, Any], out: IO[bytes]) -> None:
    from .._plan import plan_urls
    from .._scanner import stream_plan
    from ..net.pins import with_pins
    from ..reporters.jsonl import line, target_record

    options = options_from_job(job["options"])
    plan = plan_urls(list(job["targets"]), options, whole=False)
    remaining = job.get("deadline_in")
    deadline = time.perf_counter() + float(remaining) if remaining is not None else None
    resolver = with_pins(None, options)
    async for _index, result in stream_plan(
        plan, options, resolver=resolver, observer=None, deadline=deadline
    ):
        out.write(line(target_record(result)).encode("utf-8"))
        out.flush()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.write(f'{{"record":"done","peak_rss_kib":{peak}}}\n'.encode())
    out.flush()


if __name__ == "__main__":
    main()
