"""keywire._files.create_private: a new file, private, never one that exists."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keywire import _files


def test_a_new_private_file_in_the_directory(tmp_path: Path) -> None:
    fd, path = _files.create_private(tmp_path, ".report.json.", ".tmp")
    os.close(fd)
    created = Path(path)
    assert created.parent == tmp_path and created.name.startswith(".report.json.")
    assert created.name.endswith(".tmp") and len(created.name) == len(".report.json..tmp") + 16
    assert stat.S_IMODE(created.stat().st_mode) == 0o600


def test_an_existing_name_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files.os, "urandom", lambda n: b"\x00" * n)  # every name the same
    fd, path = _files.create_private(tmp_path, "x", "")
    os.close(fd)
    Path(path).write_text("kept")
    with pytest.raises(FileExistsError):
        _files.create_private(tmp_path, "x", "")
    assert Path(path).read_text() == "kept"


def test_a_missing_directory_is_the_systems_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _files.create_private(tmp_path / "missing", "x", "")
