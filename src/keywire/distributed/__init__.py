"""Fleet scans on many machines: Dramatiq workers on a Redis broker (``keywire[distributed]``).

``keywire scan -i fleet.txt --broker redis://HOST:PORT/DB`` is a fleet run like any other
(:func:`keywire.fleet.run_fleet`: the same plan, finishing, stream, store and reports); only its
targets are scanned by ``keywire worker`` processes on any number of machines instead of by
this one. See ``docs/distributed.md``.

- :mod:`._keys`: the Redis keys of a scan and the Lua scripts that make its results exactly-once
  and its per-server slots fleet-wide;
- :mod:`._broker`: the Dramatiq broker (imported lazily: keywire works without the extra);
- :mod:`.coordinator`: the scan's side: enqueue one message per target, collect the records;
- :mod:`.actor`: the worker's side: one message, one target, one record;
- :mod:`.slots`: per-server connection slots shared by every worker (leases in Redis);
- :mod:`.worker`: ``keywire worker``: processes and threads.

Nothing here is imported by a local scan, and importing this package imports neither Dramatiq
nor redis.
"""

from __future__ import annotations

from ._broker import BrokerError, MissingExtra, require

__all__ = ["BrokerError", "MissingExtra", "require"]
