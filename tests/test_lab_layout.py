"""The lab's layout: the package ships only the demo's lab; every lab server has one base.

Test and bench servers live in the repository's ``labs/`` (never in the wheel); what remains in
``keywire.lab`` is what ``keywire demo`` serves.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import keywire.lab
import labs
from keywire.lab.server import LabServer, LoopbackServerBase

DEMO_MODULES = {"__init__", "certs", "hardened", "seed", "server"}


def test_the_package_lab_holds_only_the_demo():
    shipped = {p.stem for p in Path(keywire.lab.__file__).parent.glob("*.py")}
    assert shipped == DEMO_MODULES
    from keywire import demo

    source = inspect.getsource(demo)
    assert "labs" not in {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.strip().startswith(("import ", "from "))
    }


def test_every_lab_server_shares_the_loopback_base():
    servers = [LabServer]
    for info in pkgutil.iter_modules(labs.__path__):
        module = importlib.import_module(f"labs.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            serves = cls.__name__.endswith(("Server", "Responder"))
            if cls.__module__ == module.__name__ and serves:
                servers.append(cls)
    assert len(servers) >= 6
    for cls in servers:
        assert issubclass(cls, LoopbackServerBase), cls
        assert isinstance(getattr(cls, "url", None), property), cls


def test_former_names_of_moved_lab_modules_import_in_a_checkout():
    import importlib

    import labs.tlsserver

    moved = importlib.import_module("keywire.lab.tlsserver")
    assert moved is labs.tlsserver
    assert importlib.import_module("keywire.lab.seed").__file__.startswith(
        str(Path(keywire.lab.__file__).parent)
    )
