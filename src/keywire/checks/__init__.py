"""The check families: one module each, a pure ``check`` judging its observation.

The registry of families (which exist, their groups, the rules each reports) is
:mod:`keywire.registry`, a static table that imports no family; its names are re-exported here.
"""

from __future__ import annotations

from typing import Any

from ..registry import GROUPS, NAMES, REGISTRY, SELECTABLE, FamilyEntry, entry_of, select


def __getattr__(name: str) -> Any:
    from .. import registry

    return getattr(registry, name)  # FAMILIES (every family, loaded) and Family, on first use


__all__ = [
    "GROUPS",
    "NAMES",
    "REGISTRY",
    "SELECTABLE",
    "FamilyEntry",
    "entry_of",
    "select",
]
