"""``keywire scan --save-observations FILE``: a file that cannot be written is refused before
any traffic, with one line on stderr (exit 2); one that can is written privately."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from keywire.cli import main
from keywire.lab import LabServer
from labs.apps import Behaviour, make_app


@pytest.fixture
def counted():
    """A cleartext lab API that counts the requests it gets."""
    app = make_app(Behaviour(refuse_cleartext=False))
    seen: list[str] = []

    @app.before_request
    def count() -> None:
        from flask import request

        seen.append(request.path)

    with LabServer(app) as server:
        yield server, seen


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", "--no-config", "--no-store", *args])


@pytest.mark.parametrize(
    "where",
    ["stdout", "the report's file", "a missing directory", "a directory"],
)
def test_an_unusable_file_is_refused_before_any_request(counted, tmp_path, where):
    server, seen = counted
    report = tmp_path / "report.json"
    path = {
        "stdout": "-",
        "the report's file": str(report),
        "a missing directory": str(tmp_path / "missing" / "obs.jsonl"),
        "a directory": str(tmp_path),
    }[where]
    result = _scan(server.url + "/v1/resource", "-o", f"json:{report}", "--save-observations", path)
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert "--save-observations" in result.stderr and "Traceback" not in result.stderr
    assert seen == []  # refused before any traffic
    assert not report.exists()


def test_the_file_is_written_for_its_owner_only_and_said_so(counted, tmp_path):
    server, seen = counted
    path = tmp_path / "obs.jsonl"
    result = _scan(
        server.url + "/v1/resource", "--fail-on", "none", "--save-observations", str(path)
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert seen
    assert f"observations written to {path}" in result.stderr
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    judged = CliRunner().invoke(
        main, ["judge", str(path), "--no-config", "-q", "--fail-on", "none"]
    )
    assert judged.exit_code == 0, judged.stderr
    assert judged.stderr == ""  # -q: not even the "judging" line
