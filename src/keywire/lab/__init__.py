"""The demo's lab: the seed's vulnerable API, its flask_keywire fix and their PKI, on loopback.

``keywire demo`` serves these on 127.0.0.1 (or ::1) and nowhere else. The servers the tests and
the benchmarks use live outside the package, in the repository's ``labs/``.

Their former names still import in a checkout: ``keywire.lab.tlslab`` is ``labs.tlslab`` (the
same module object) whenever ``labs`` is importable (pytest's ``pythonpath`` setting, or the
repository root on ``sys.path``). An installed wheel has no ``labs``, so there they do not exist.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from .server import LabServer

__all__ = ["LabServer"]

_SHIPPED = frozenset({"certs", "hardened", "seed", "server"})


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


class _MovedToLabs(importlib.abc.MetaPathFinder):
    """``keywire.lab.NAME`` → ``labs.NAME`` for the lab modules that moved out of the package."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, name = fullname.rpartition(".")
        if prefix != __name__ or name in _SHIPPED:
            return None
        try:
            found = importlib.util.find_spec(f"labs.{name}")
        except (ImportError, ValueError):
            return None
        if found is None:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(f"labs.{name}"))


if not any(isinstance(finder, _MovedToLabs) for finder in sys.meta_path):
    sys.meta_path.append(_MovedToLabs())
