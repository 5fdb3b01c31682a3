"""Scan, save the observations, judge them again: the lab's scans go through here.

Every lab scan of the HTTP apps (``tests/conftest.py``), the TLS profiles
(``tests/tls/conftest.py``) and the spec lab (``tests/openapi/conftest.py``) is also judged
from its saved observations, with the network closed, and must come out the same: the same
findings (messages, evidence, fingerprints), outcomes, details and scores.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from keywire import ScanOptions, ScanReport, scan
from keywire.observations import judge


class NetworkUsed(AssertionError):
    pass


@contextmanager
def no_network() -> Iterator[None]:
    """Any socket, connection or name lookup in the block fails the test."""

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise NetworkUsed("keywire judge opened the network")

    saved = (socket.socket, socket.create_connection, socket.getaddrinfo, socket.socketpair)
    socket.socket = refuse  # type: ignore[assignment,misc]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    socket.socketpair = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket, socket.create_connection, socket.getaddrinfo, socket.socketpair = saved


def assert_same(scanned: ScanReport, judged: ScanReport) -> None:
    """What a scan reported and what judging its observations reports are the same."""
    assert [t.target for t in judged.targets] == [t.target for t in scanned.targets]
    for ours, theirs in zip(scanned.targets, judged.targets, strict=True):
        assert theirs.findings == ours.findings, ours.target
        assert theirs.outcomes == ours.outcomes, ours.target
        assert (theirs.scanned, theirs.error) == (ours.scanned, ours.error)
        assert theirs.details == ours.details, ours.target
        assert theirs.score == ours.score
    assert judged.score == scanned.score
    assert judged.complete == scanned.complete


def scan_judged(targets: Sequence[Any] | str, *, options: ScanOptions, **kwargs: Any) -> ScanReport:
    """:func:`keywire.scan`, whose observations are judged again (no network) and compared."""
    handle, path = tempfile.mkstemp(prefix="keywire-observations-", suffix=".jsonl")
    os.close(handle)
    try:
        saving = dataclasses.replace(options, save_observations=path)
        report = scan(targets, options=saving, **kwargs)
        with no_network():
            judged = judge(path)
        assert_same(report, judged)
        return report
    finally:
        os.unlink(path)
