"""Keywire over time: what the store remembers of each target, and what changed between scans.

Pure functions of :class:`Snapshot` values (one target in one scan, as :mod:`keywire.store` keeps
it), so every rule about change is tested without a database or a network:

- :mod:`keywire.history.snapshot`: the snapshot, built from a scan's result or read from the store;
- :mod:`keywire.history.rules`: the rules only time can show (KW630, KW631);
- :mod:`keywire.history.diff`: new, fixed, unchanged and not re-tested findings between two scans;
- :mod:`keywire.history.render`: ``keywire history`` and ``keywire diff`` as text, JSON, Markdown;
- :mod:`keywire.history.fleet`: the fleet overview (``keywire report --store FILE``).
"""
