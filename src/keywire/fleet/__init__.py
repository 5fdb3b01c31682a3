"""Fleet scans: thousands of targets in one run, streamed, resumable, on every core.

``keywire scan`` runs every scan through :func:`run_fleet`: results are finished and written as
JSONL records the moment each target ends (:mod:`keywire.reporters.jsonl`), spooled to disk rather
than held, and the other reports are assembled from the spool at the end (:mod:`.assemble`). See
``docs/fleet.md``.

- :mod:`._run`: the run (plan, scan, finish, spool, summary);
- :mod:`._pool` and :mod:`._worker`: worker processes, sharded by server;
- :mod:`._spool`: the stream on disk, and reading an earlier one back for ``--resume``;
- :mod:`._records`: target records back into results;
- :mod:`._progress`: done/total, rate, ETA and failures.
"""

from __future__ import annotations

from ._progress import FleetObserver, Meter
from ._run import FleetRequest, FleetResult, run_fleet
from ._spool import ResumeState, read_resume

__all__ = [
    "FleetObserver",
    "FleetRequest",
    "FleetResult",
    "Meter",
    "ResumeState",
    "read_resume",
    "run_fleet",
]
