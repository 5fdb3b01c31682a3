"""The public Python API: an explicit, sorted ``__all__``, and no CLI stack in the library."""

from __future__ import annotations

import ast
from pathlib import Path

import keywire

SRC = Path(keywire.__file__).parent
CLI_ONLY = {"reporters/console.py"}  # and every module of cli/


def _isort_key(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions (ruff's RUF022 order)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_complete():
    assert keywire.__all__ == sorted(keywire.__all__, key=_isort_key)
    for name in keywire.__all__:
        assert hasattr(keywire, name), name


def test_library_never_imports_click_or_rich():
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative in CLI_ONLY or relative.startswith("cli/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"click", "rich"}:
                    offenders.append(f"{relative}: {name}")
    assert offenders == []


def test_scan_returns_a_report(lab_api):
    api = lab_api()
    report = keywire.scan(
        [api.target()], options=keywire.ScanOptions(ca_file=api.ca_file, timeout=5)
    )
    assert isinstance(report, keywire.ScanReport)
    assert report.complete
    assert report.score is not None
    assert report.targets[0].score == report.score
