"""The walls hold in the import graph, and breaking one is caught (issue 12, item 4).

The contracts are import-linter's, in ``pyproject.toml`` (``[tool.importlinter]``): checks judge
observations and import no probe, HTTP client, resolver, TLS dialer or socket; reporters import
no check, probe, network or TLS code; the rule catalogue and the registry load without the
network; ``keywire judge`` imports no probe or network code; ``flask_keywire`` loads no scanner
module. ``lint-imports`` reads the static graph (a lazy import inside a function counts), so a
wall cannot be crossed quietly. Each contract is also broken on purpose, on a copy of the
sources, to prove it is not a wall that cannot fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
}

#: contract id -> (file under src/, the import appended to it, the edge the report must name)
BREAKS = {
    "checks-are-pure": (
        "keywire/checks/hsts.py",
        "from ..net.http import HttpClient",
        "keywire.checks.hsts -> keywire.net.http",
    ),
    "reporters-render-only": (
        "keywire/reporters/json.py",
        "from ..checks import tls",
        "keywire.reporters.json -> keywire.checks",
    ),
    "catalogue-without-network": (
        "keywire/rules.py",
        "from .tls import connection",
        "keywire.rules -> keywire.tls.connection",
    ),
    "judge-offline": (
        "keywire/observations/judge.py",
        "from ..probes import tls",
        "keywire.observations.judge -> keywire.probes.tls",
    ),
    "flask-keywire-lean": (
        "flask_keywire/__init__.py",
        "from keywire import rules",
        "flask_keywire -> keywire.rules",
    ),
}


def _lint(cwd: Path, src: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert script is not None, "import-linter is a test dependency: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [script, "--no-cache", "--config", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _broken(output: str) -> set[str]:
    """The names of the contracts the report lists as broken."""
    return {
        name for name in CONTRACTS.values() if re.search(rf"{re.escape(name)}\s*BROKEN", output)
    }


def test_every_wall_holds():
    result = _lint(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _broken(result.stdout) == set()
    for name in CONTRACTS.values():
        assert name in result.stdout
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_every_contract_is_broken_on_purpose_below():
    assert set(BREAKS) == set(CONTRACTS)


@pytest.mark.parametrize("contract", sorted(BREAKS))
def test_a_forbidden_import_is_caught(contract, tmp_path):
    src = tmp_path / "src"
    for package in ("keywire", "flask_keywire"):
        shutil.copytree(
            ROOT / "src" / package, src / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module, line, edge = BREAKS[contract]
    with (src / module).open("a", encoding="utf-8") as handle:
        handle.write(f"\n{line}\n")

    result = _lint(tmp_path, src)

    assert result.returncode != 0
    # (the catalogue is imported by the reporters and the judge: their walls fall with it)
    assert CONTRACTS[contract] in _broken(result.stdout), result.stdout
    assert edge in result.stdout, result.stdout
