"""The history store as the commands use it: where it is, opening it (a store that cannot be
used is a usage error: one line, exit 2, the file untouched), and recording a scan into it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._display import visible
from .._models import ScanReport
from ._exit import fail_usage

if TYPE_CHECKING:
    from ..store import Store


def say(message: str) -> None:
    """One line for people on stderr, made visible."""
    click.echo(f"keywire: {visible(message)}", err=True)


def store_path(value: str | None) -> Path:
    """``--store``, else the default (:func:`keywire.store.default_path`)."""
    from ..store import default_path

    return Path(value).expanduser() if value else default_path()


def open_store(value: str | None, *, create: bool, check: bool = False) -> Store:
    """The store, or exit 2 with why it cannot be used (readers: ``create=False``)."""
    from ..store import Store, StoreError

    try:
        return Store.open(store_path(value), create=create, check=check)
    except StoreError as exc:
        fail_usage(str(exc))


def store_for_scan(value: str | None, no_store: bool) -> Store | None:
    """The store ``keywire scan`` records into, opened (and checked) before any traffic.

    The default location that cannot be created (a read-only home in a container) is a warning
    and the scan goes on without recording; a store given with ``--store``, or an existing one
    that is corrupt, newer or foreign, is an error.
    """
    from ..store import Store, StoreError

    if no_store:
        if value:
            fail_usage("--store and --no-store exclude each other")
        return None
    path = store_path(value)
    try:
        return Store.open(path, create=True, check=True)
    except StoreError as exc:
        if value or path.exists():
            fail_usage(f"{exc} (--no-store scans without recording)")
        say(f"warning: the scan is not recorded: {exc}")
        return None


def record_scan(
    store: Store, report: ScanReport, *, policy: Any = None, verbose: bool = False
) -> ScanReport:
    """Add the time rules' findings to ``report`` (each target against its previous result in the
    store), record it, and return the report as recorded."""
    from ..history.record import annotate_report
    from ..store import StoreError, record_report

    try:
        with store.transaction() as tx:
            previous = {t.target: tx.latest(t.target, evidence=False) for t in report.targets}
        report = annotate_report(
            report, previous.get, scanned_at=datetime.now(timezone.utc), policy=policy
        )
        scan_id, _ = record_report(store, report)
    except StoreError as exc:
        fail_usage(f"{exc}; the report was not written")
    if verbose:  # stderr stays as it was for scripts that read it; -v says where the scan went
        say(f"scan {scan_id} recorded in {store.path}")
    return report


def write_output(text: str, output: str | None, what: str) -> None:
    """``text`` to stdout, or atomically to ``output``."""
    from ..outputs import write_atomically

    if output in (None, "-"):
        click.echo(text, nl=False)
        return
    assert output is not None
    try:
        write_atomically(output, text)
    except OSError as exc:
        fail_usage(f"cannot write {output!r}: {exc.strerror or exc}")
    say(f"{what} written to {output}")


def normalised(url: str) -> str:
    """A target URL as the store keeps it (or a usage error)."""
    from ..targets import TargetError, parse_target

    try:
        return parse_target(url).url
    except TargetError as exc:
        fail_usage(str(exc))
