"""The observations file: JSON Lines, versioned, written privately, read with bounds.

One JSON object per line (``schema_version`` |version|, the schema is
``keywire/schemas/observations-1.schema.json``)::

    {"record": "scan", "schema_version": "1.0", "kind": "keywire-observations", ...}
    {"record": "spec", ...}       the API description's model, when the scan had --spec
    {"record": "target", ...}     one per target: its families' observations and exchanges
    {"record": "end", "targets": N, "duration_s": ...}

A file without its ``end`` line was cut short and is refused, as is one of another major
version, one nested deeper than :data:`MAX_DEPTH`, larger than :data:`MAX_FILE_BYTES` or with
a line longer than :data:`MAX_LINE_BYTES`: :class:`ObservationsError` says which line and why.
The file is created readable by its owner only (it holds the anonymous answers of the API).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import _json
from .._dataclass import dataclass
from .._files import create_private
from .._models import ScanReport, TargetResult
from .._version import __version__

SCHEMA_VERSION = "1.0"
KIND = "keywire-observations"
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024 * 1024
#: Deep enough for any observation keywire writes (they nest about 12 levels).
MAX_DEPTH = 64
_RECORDS = ("scan", "spec", "target", "end")


class ObservationsError(ValueError):
    """An observations file keywire cannot use (``keywire judge`` exits 2)."""


@dataclass(frozen=True, kw_only=True)
class Observations:
    """A saved scan: its metadata and one record per target, in the report's order."""

    tool_version: str
    started_at: datetime
    duration_s: float
    options: Mapping[str, object]
    records: tuple[Mapping[str, Any], ...]


def lines(report: ScanReport) -> Iterator[str]:
    """The file's lines for ``report`` (a scan with ``ScanOptions.save_observations``)."""
    yield _line(
        {
            "record": "scan",
            "schema_version": SCHEMA_VERSION,
            "kind": KIND,
            "tool_version": report.tool_version,
            "started_at": report.started_at.isoformat(),
            "options": dict(report.options),
        }
    )
    for result in report.targets:
        yield _line(_record(result))
    yield _line({"record": "end", "targets": len(report.targets), "duration_s": report.duration_s})


def _record(result: TargetResult) -> dict[str, Any]:
    kept = result.observations
    if kept is not None and "spec" in kept:
        return {
            "record": "spec",
            "target": result.target,
            "duration_s": result.duration_s,
            **kept["spec"],  # type: ignore[dict-item]
        }
    record: dict[str, Any] = {
        "record": "target",
        "target": result.target,
        "scanned": result.scanned,
        "error": result.error,
        "duration_s": result.duration_s,
    }
    if kept is None:
        if result.outcomes or result.details:
            raise ValueError(
                f"{result.target}: the scan kept no observations "
                "(scan with ScanOptions(save_observations=...))"
            )
        return record
    summaries = result.details.get("exchanges", [])
    return {**record, "exchange_summaries": summaries, **kept}


def _line(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def write(report: ScanReport, path: str) -> None:
    """Write ``report``'s observations to ``path`` (replaced atomically, mode 0600).

    Raises ``OSError`` when it cannot be written, ``ValueError`` when the scan kept none.
    """
    content = list(lines(report))  # built first: a scan that kept nothing writes nothing
    target = Path(path)
    fd, temporary = create_private(target.parent, f".{target.name}.", ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read(path: str) -> Observations:
    """The observations saved in ``path``; :class:`ObservationsError` if it cannot be used."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ObservationsError(
                    f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
                )
            return parse(handle.read(MAX_FILE_BYTES + 1), path)
    except OSError as exc:
        raise ObservationsError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse(data: bytes, name: str = "observations") -> Observations:
    """:func:`read`, on the file's bytes."""
    if len(data) > MAX_FILE_BYTES:
        raise ObservationsError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    objects: list[Mapping[str, Any]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            raise ObservationsError(f"{name}, line {number}: longer than {MAX_LINE_BYTES} bytes")
        try:
            value = _json.loads(raw, max_depth=MAX_DEPTH)
        except ValueError as exc:
            raise ObservationsError(f"{name}, line {number}: not JSON ({_short(exc)})") from None
        if not isinstance(value, dict) or value.get("record") not in _RECORDS:
            raise ObservationsError(f"{name}, line {number}: not a record of {KIND}")
        if (value["record"] == "scan") != (number == 1 and not objects):
            raise ObservationsError(f"{name}, line {number}: a scan record belongs on line 1")
        if objects and objects[-1]["record"] == "end":
            raise ObservationsError(f"{name}, line {number}: a record after the end")
        objects.append(value)
    if not objects:
        raise ObservationsError(f"{name}: empty (not an observations file)")
    header = objects[0]
    if header.get("kind") != KIND:
        raise ObservationsError(f"{name}: not a {KIND} file")
    version = header.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ObservationsError(
            f"{name}: schema version {str(version)[:20]!r}; keywire {__version__} reads "
            f"version {SCHEMA_VERSION.split('.')[0]}.x"
        )
    end = objects[-1]
    if end["record"] != "end":
        raise ObservationsError(f"{name}: cut short (no end record: was the scan interrupted?)")
    records = tuple(objects[1:-1])
    if end.get("targets") != len(records):
        raise ObservationsError(f"{name}: the end record counts {end.get('targets')!r} targets")
    return Observations(
        tool_version=_text(header, "tool_version", name),
        started_at=_time(header, name),
        duration_s=_number(end, "duration_s", name),
        options=_mapping(header, "options", name),
        records=records,
    )


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120]


def _text(record: Mapping[str, Any], key: str, name: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or len(value) > 200:
        raise ObservationsError(f"{name}: {key} is not a short string")
    return value


def _number(record: Mapping[str, Any], key: str, name: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ObservationsError(f"{name}: {key} is not a number of seconds")
    return float(value)


def _mapping(record: Mapping[str, Any], key: str, name: str) -> Mapping[str, object]:
    value = record.get(key)
    if not isinstance(value, dict):
        raise ObservationsError(f"{name}: {key} is not an object")
    return value


def _time(record: Mapping[str, Any], name: str) -> datetime:
    text = _text(record, "started_at", name)
    try:
        started = datetime.fromisoformat(text)
    except ValueError:
        raise ObservationsError(f"{name}: started_at is not an ISO 8601 time") from None
    if started.tzinfo is None:
        raise ObservationsError(f"{name}: started_at has no time zone")
    return started
