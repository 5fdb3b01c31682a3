"""The history store: every scan's targets, findings, scores and certificates, in one SQLite file.

``keywire scan`` records into it (unless ``--no-store``), ``keywire watch`` keeps its schedule,
alert state and outbox in it, and ``keywire history``, ``keywire diff`` and ``keywire report``
read it. All take ``--store FILE``; the default is :func:`default_path`.

>>> from keywire.store import Store, record_report
>>> with Store.open("keywire.db") as store:  # doctest: +SKIP
...     scan_id = record_report(store, report)

See :mod:`keywire.store._db` for how the file is kept safe (refusing corrupt, foreign and newer
stores; several writers at once) and :mod:`keywire.store._schema` for the schema's migrations.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from .._models import ScanReport
from ..history.snapshot import Snapshot, snapshot_of
from ._db import BUSY_TIMEOUT_S, Store, StoreError, Transaction
from ._rows import OutboxAlert, ScanRow, TargetRow
from ._schema import SCHEMA_VERSION

#: The environment variable that names the store when ``--store`` does not.
STORE_ENV = "KEYWIRE_STORE"

__all__ = [
    "BUSY_TIMEOUT_S",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "OutboxAlert",
    "ScanRow",
    "Store",
    "StoreError",
    "TargetRow",
    "Transaction",
    "default_path",
    "record_report",
]


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the store is when ``--store`` is not given.

    ``$KEYWIRE_STORE`` if set; else ``$XDG_DATA_HOME/keywire/keywire.db`` (default
    ``~/.local/share/keywire/keywire.db``); on Windows ``%LOCALAPPDATA%\\keywire\\keywire.db``.

    >>> str(default_path({"XDG_DATA_HOME": "/data", "HOME": "/home/u"})).replace("\\\\", "/")
    '/data/keywire/keywire.db'
    """
    env = os.environ if environ is None else environ
    if env.get(STORE_ENV):
        return Path(env[STORE_ENV]).expanduser()
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "keywire" / "keywire.db"
    base = env.get("XDG_DATA_HOME")
    if not base or not Path(base).is_absolute():  # the XDG spec: a relative value is ignored
        home = env.get("HOME") or str(Path.home())
        base = str(Path(home) / ".local" / "share")
    return Path(base) / "keywire" / "keywire.db"


def record_report(
    store: Store,
    report: ScanReport,
    *,
    source: str = "scan",
    finished_at: datetime | None = None,
) -> tuple[int, list[Snapshot]]:
    """Record a finished report: one scan, each target in its own short transaction.

    Returns the scan's ID and the recorded snapshots. The report should be the one the user sees
    (policy applied), so the store's grades are the report's.
    """
    finished = finished_at or datetime.now(timezone.utc)
    with store.transaction(write=True) as tx:
        scan_id = tx.begin_scan(
            started_at=report.started_at,
            tool_version=report.tool_version,
            source=source,
            options=report.options,
        )
    recorded = []
    for target in report.targets:
        with store.transaction(write=True) as tx:
            recorded.append(tx.record(scan_id, snapshot_of(target, scanned_at=finished)))
    with store.transaction(write=True) as tx:
        tx.finish_scan(scan_id, finished_at=finished)
    return scan_id, recorded
