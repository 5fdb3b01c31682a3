"""JSON Lines: one record per target, then one summary record (``--format jsonl``).

The format a fleet scan streams: ``keywire scan --format jsonl`` writes each target's record the
moment the target is finished (one line, flushed), and the summary record when the scan ends. A
run that was interrupted leaves every finished target's record behind, and ``--resume`` reads
them back. Each record is described by ``keywire/schemas/record-1.schema.json``:

- ``{"schema_version": "1.0", "record": "target", ...}``: exactly the fields of one entry of the
  JSON report's ``targets`` (:func:`keywire.reporters.json.target_dict`);
- ``{"schema_version": "1.0", "record": "summary", ...}``: the JSON report's other fields (score,
  summary, completeness, options, baseline, gate, policy, notices), plus ``counts``.

So the JSON report of a scan is its summary record with the target records as ``targets``: the
two formats never disagree (every other format is also assembled from the stream).
"""

from __future__ import annotations

import json
from typing import Any

from .._display import json_inert
from .._models import ScanReport, TargetResult
from .._totals import Totals
from .json import SCHEMA_VERSION, head_dict, packaged_schema, target_dict

RECORD_VERSION = "1.0"
"""The version of the record schema (semantic: a minor bump adds fields)."""

__all__ = ["RECORD_VERSION", "line", "render", "schema", "summary_record", "target_record"]


def schema() -> dict[str, Any]:
    """The JSON Schema every record conforms to."""
    return packaged_schema("record-1.schema.json")


def target_record(target: TargetResult) -> dict[str, Any]:
    return {"schema_version": RECORD_VERSION, "record": "target", **target_dict(target)}


def summary_record(report: ScanReport, totals: Totals) -> dict[str, Any]:
    """The closing record: ``report``'s own fields (an envelope: its targets are ``totals``)."""
    head = head_dict(report, totals)
    del head["schema_version"], head["targets"]
    counts = {
        "targets": totals.targets,
        "scanned": totals.scanned,
        "not_scanned": totals.targets - totals.scanned,
    }
    return {
        "schema_version": RECORD_VERSION,
        "record": "summary",
        "report_schema_version": SCHEMA_VERSION,
        "counts": counts,
        **head,
    }


def line(record: dict[str, Any]) -> str:
    """One record as one line (``\\n``-terminated; JSON escapes every newline inside)."""
    return json_inert(json.dumps(record, ensure_ascii=False, separators=(",", ":"))) + "\n"


def render(report: ScanReport) -> str:
    """The whole stream of an in-memory report."""
    totals = Totals.of(report)
    lines = [line(target_record(t)) for t in report.targets]
    lines.append(line(summary_record(report, totals)))
    return "".join(lines)
