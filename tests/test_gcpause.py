"""The executable pauses the garbage collector while a scan starts, and always turns it back on."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from keywire import _gcpause
from keywire.cli import main


@pytest.fixture
def paused() -> Iterator[None]:
    assert gc.isenabled()
    _gcpause.pause()
    try:
        yield
    finally:
        _gcpause.resume()
        gc.unfreeze()
        assert gc.isenabled()


def test_resume_undoes_only_its_own_pause() -> None:
    gc.disable()
    try:
        _gcpause.resume()
        assert not gc.isenabled()  # not paused by keywire: left as the caller set it
    finally:
        gc.enable()


def test_a_scan_turns_it_back_on_with_its_first_target(paused, runner, lab_api) -> None:
    assert not gc.isenabled()
    api = lab_api()
    result = runner.invoke(
        main, ["scan", api.https.url, "--only", "tls", "--ca-file", api.ca_file, "-q"]
    )
    assert result.exit_code in (0, 1), result.stderr
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the start-up created is left out of collections


@pytest.mark.parametrize("args", [["rules"], ["history", "--help"]])
def test_other_commands_run_with_it_on(paused, runner, args) -> None:
    runner.invoke(main, args)
    assert gc.isenabled()


def test_the_executable_pauses_it_and_a_long_command_collects() -> None:
    """In a real process: paused at start, on again when a command other than scan runs."""
    script = textwrap.dedent(
        """
        import gc, sys
        import keywire.cli
        from keywire.cli import rules

        seen = []
        real = rules.rules_command.callback

        def spy(*args, **kwargs):
            seen.append(gc.isenabled())
            return real(*args, **kwargs)

        rules.rules_command.callback = spy
        sys.argv = ["keywire", "rules", "KW101"]
        import atexit
        atexit.register(lambda: print("collector on:", seen, file=sys.stderr))
        keywire.cli.run()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "collector on: [True]" in done.stderr
