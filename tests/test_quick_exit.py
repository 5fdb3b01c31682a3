"""The ``keywire`` executable ends without the interpreter's teardown, and loses nothing by it.

:func:`keywire.cli.run` ends the process with ``os._exit`` once the command has returned; every
report, the observations file and the history store must be complete on disk by then, stdout
must carry the whole report, and the exit code must be the command's.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from keywire.lab import LabServer
from labs.apps import Behaviour, make_app


def _keywire(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keywire", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def test_every_output_is_complete_when_the_process_ends(tmp_path: Path) -> None:
    with LabServer(make_app(Behaviour(refuse_cleartext=False, query_key=True))) as http:
        url = f"http://127.0.0.1:{http.port}/"
        done = _keywire(
            "scan", url, "--format", "jsonl", "--fail-on", "info",
            "-o", f"json:{tmp_path / 'r.json'}", "-o", f"sarif:{tmp_path / 'r.sarif'}",
            "-o", f"html:{tmp_path / 'r.html'}", "-o", f"markdown:{tmp_path / 'r.md'}",
            "--save-observations", str(tmp_path / "obs.json"),
            "--store", str(tmp_path / "history.db"),
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr  # a finding fails the gate: its code survives
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[-1]["record"] == "summary"  # the stream's last line reached stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["targets"][0]["findings"]
    assert json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    assert (tmp_path / "r.html").read_text().rstrip().endswith("</html>")
    assert "KW" in (tmp_path / "r.md").read_text()
    observed = [json.loads(line) for line in (tmp_path / "obs.json").read_text().splitlines()]
    assert observed[-1]["record"] == "end"  # a file without it was cut short
    with sqlite3.connect(tmp_path / "history.db") as db:
        assert db.execute("SELECT COUNT(*) FROM scans").fetchone() == (1,)


def test_usage_errors_and_help_keep_their_exit_codes(tmp_path: Path) -> None:
    assert _keywire("scan", cwd=tmp_path).returncode == 2
    helped = _keywire("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "scan" in helped.stdout


def test_a_running_thread_is_waited_for(tmp_path: Path) -> None:
    """A thread that is not a daemon still runs: the ordinary exit, which waits for it."""
    marker = tmp_path / "written"
    script = textwrap.dedent(
        f"""
        import threading, time
        from pathlib import Path
        from keywire.cli._exit import quick_exit

        def late():
            time.sleep(0.3)
            Path({str(marker)!r}).write_text("done")

        threading.Thread(target=late).start()
        quick_exit(4)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 4, done.stderr
    assert marker.read_text() == "done"


def test_exit_handlers_run(tmp_path: Path) -> None:
    marker = tmp_path / "handled"
    script = textwrap.dedent(
        f"""
        import atexit, sys
        from pathlib import Path
        from keywire.cli._exit import quick_exit

        atexit.register(lambda: Path({str(marker)!r}).write_text("ran"))
        sys.stdout.write("buffered, not yet flushed")
        quick_exit(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0
    assert done.stdout == "buffered, not yet flushed"
    assert marker.read_text() == "ran"


def test_a_profiled_run_still_writes_its_profile(tmp_path: Path) -> None:
    profile = tmp_path / "scan.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "keywire", "rules"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert profile.stat().st_size > 0
