"""Reading target records back: from a worker's stream, a spool, or a ``--resume`` file.

A target record (:mod:`keywire.reporters.jsonl`) holds everything the reports need about one
target, so a :class:`~keywire.TargetResult` made from it renders exactly as the original:
:func:`result_from_record` is the inverse of ``target_dict`` (details come back as the plain JSON
values every report shows them as).

Records are keywire's own output, but a file on disk may be cut short by a crash or edited by
hand: every line is parsed with the bounded JSON parser (:mod:`keywire._json`), and one that is
not a record is reported, never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from .._models import (
    BaselineState,
    Category,
    CategoryScore,
    CheckOutcome,
    Confidence,
    Finding,
    OutcomeStatus,
    Score,
    Severity,
    Suppression,
    TargetResult,
)


class RecordError(ValueError):
    """A line that is not a keywire JSONL record."""


def parse_line(line: bytes | str) -> dict[str, Any]:
    """One JSONL line as a record (a mapping with ``record`` and a 1.x ``schema_version``)."""
    try:
        record = _json.loads(line)
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    version = record.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise RecordError(f"unsupported schema_version {version!r} (expected 1.x)")
    if record.get("record") not in ("target", "summary"):
        raise RecordError(f"unknown record type {record.get('record')!r}")
    return record


def result_from_record(record: Mapping[str, Any]) -> TargetResult:
    """The :class:`~keywire.TargetResult` a target record describes."""
    try:
        target = str(record["target"])
        score = record.get("score")
        return TargetResult(
            target=target,
            scanned=bool(record["scanned"]),
            error=str(record.get("error", "")),
            findings=tuple(_finding(f) for f in record.get("findings", ())),
            outcomes=tuple(
                CheckOutcome(
                    check=str(o["check"]),
                    target=target,
                    status=OutcomeStatus(o["status"]),
                    reason=str(o.get("reason", "")),
                )
                for o in record.get("outcomes", ())
            ),
            details=dict(record.get("details") or {}),
            duration_s=float(record.get("duration_s", 0.0)),
            score=_score(score) if score is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordError(f"not a target record: {exc!r}") from None


def _finding(item: Mapping[str, Any]) -> Finding:
    suppression = item.get("suppression")
    baseline = item.get("baseline")
    return Finding(
        rule_id=str(item["rule_id"]),
        target=str(item["target"]),
        severity=Severity(item["severity"]),
        confidence=Confidence(item["confidence"]),
        message=str(item["message"]),
        evidence=tuple((str(k), str(v)) for k, v in dict(item.get("evidence") or {}).items()),
        location=str(item.get("location", "")),
        fingerprint=str(item["fingerprint"]),
        suppression=_suppression(suppression) if suppression else None,
        baseline=BaselineState(baseline) if baseline else None,
    )


def _suppression(item: Mapping[str, Any]) -> Suppression:
    from datetime import date

    expires = item.get("expires")
    return Suppression(
        rule_id=str(item["rule_id"]),
        target=str(item["target"]),
        reason=str(item["reason"]),
        expires=date.fromisoformat(expires) if expires else None,
        source=str(item.get("source", "")),
    )


def _score(item: Mapping[str, Any]) -> Score:
    return Score(
        score=int(item["score"]),
        grade=str(item["grade"]),
        caps=tuple(str(c) for c in item.get("caps", ())),
        categories=tuple(
            CategoryScore(
                category=Category(c["category"]),
                score=int(c["score"]),
                grade=str(c["grade"]),
                caps=tuple(str(x) for x in c.get("caps", ())),
            )
            for c in item.get("categories", ())
        ),
    )
