"""Exit codes, usage errors and a lost stdout: how every command ends."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

import click

from .._display import visible

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_NOTHING_SCANNED = 0, 1, 2, 3
EXIT_INCOMPLETE = EXIT_NOTHING_SCANNED  # a half-dead API fails CI like a dead one
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}    the gate passed and the scan is complete
  {EXIT_GATE}    the gate failed: a finding at or above --fail-on, or a score
       under --fail-under (whether or not the scan is complete)
  {EXIT_USAGE}    usage or configuration error (bad URL, unreadable file, ...)
  {EXIT_INCOMPLETE}    nothing could be scanned, or the scan is incomplete (a target
       not scanned, a check not tested) and no finding failed the gate;
       --allow-incomplete judges an incomplete scan on what was tested
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""
"""The exit codes of ``keywire scan`` and ``keywire demo`` (``--help`` shows this table)."""


def fail_usage(message: str) -> NoReturn:
    click.echo(f"keywire: error: {visible(message)}", err=True)
    sys.exit(EXIT_USAGE)


def stdout_lost() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def quick_exit(code: int) -> NoReturn:
    """End the process with ``code`` without the interpreter's teardown, when that is safe.

    When a command returns, its reports are written, flushed and closed and its history store is
    closed; what remains is the interpreter freeing some 400 modules and their objects, about
    20 ms of a 200 ms one-target scan. This flushes stdout and stderr, runs the exit handlers
    (logging's flush, temporary directories' cleanup, ...) and ends the process. It falls back to
    the ordinary exit when a thread that is not a daemon still runs (the interpreter waits for
    it), under a profiler (``python -m cProfile`` writes its file when the program returns;
    coverage saves its data in an exit handler) or when a stream cannot be flushed (the interpreter reports that as it always did).
    """
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    if sys.getprofile() is not None:
        sys.exit(code)  # a profiler writes its results when the program returns
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)
