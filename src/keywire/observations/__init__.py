"""Observe, then judge: what the checks judged, saved, and judged again without the network.

Probes (:mod:`keywire.probes`) are the only code that does I/O; each returns a frozen
observation, and each check (:mod:`keywire.checks`) is a pure function of it. Between the two,
the scanner *captures* every observation (:mod:`.capture`): bodies kept to their first 64 KiB,
known-format secrets masked, the user's header values and the scan's canary replaced; the check
judges the captured observation. ``keywire scan --save-observations FILE`` writes them
(:mod:`.file`, JSON Lines with a ``schema_version``), and ``keywire judge FILE`` (:func:`judge`)
runs every check, the score and any report format on them again, opening no socket: the same
findings, or today's verdicts on last month's facts.

>>> from keywire.observations import SCHEMA_VERSION
>>> SCHEMA_VERSION
'1.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .file import SCHEMA_VERSION, Observations, ObservationsError, read, write
    from .judge import judge

_LAZY = {
    "SCHEMA_VERSION": ".file",
    "Observations": ".file",
    "ObservationsError": ".file",
    "read": ".file",
    "write": ".file",
    "judge": ".judge",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = ["SCHEMA_VERSION", "Observations", "ObservationsError", "judge", "read", "write"]
