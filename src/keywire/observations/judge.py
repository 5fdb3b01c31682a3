"""``keywire judge``: grade saved observations again, with today's checks, and no network.

Every family's check runs on its saved observation exactly as it ran in the scan (the scan's
checks judged the same captured data, see :mod:`keywire.observations.capture`), then the
score, and :func:`keywire.finish_report` applies today's configuration, baseline and gate.
Nothing here opens a socket: no probe module is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._models import CheckOutcome, Finding, ScanReport, TargetResult
from .._version import __version__
from ..finish import finish_report
from ..redact import scrub_result
from ..registry import REGISTRY
from ..rules import RULES
from ..scoring import compute_score
from ._codec import CodecError
from ._decode import Decoder
from .capture import judge_family, restore
from .file import Observations, ObservationsError, read

if TYPE_CHECKING:
    from .._models import Gate
    from ..baseline import Baseline
    from ..config import Config


def judge(
    observations: Observations | str | Path,
    *,
    config: Config | None = None,
    baseline: Baseline | None = None,
    gate: Gate | None = None,
) -> ScanReport:
    """The report of a saved scan (a file from ``--save-observations``, or what
    :func:`keywire.observations.read` returned), judged by this keywire's checks.

    Raises :class:`~keywire.observations.ObservationsError` for a file it cannot use.
    """
    saved = observations if isinstance(observations, Observations) else read(str(observations))
    notices: list[str] = []
    results = []
    for number, record in enumerate(saved.records, start=1):
        try:
            results.append(_judge_record(record, notices))
        except (CodecError, KeyError, TypeError) as exc:
            what = f"{exc}" if isinstance(exc, CodecError) else f"{type(exc).__name__} {exc}"
            raise ObservationsError(f"record {number}: {what[:300]}") from None
    findings = [f for r in results for f in r.findings]
    report = ScanReport(
        tool_version=__version__,
        started_at=saved.started_at,
        duration_s=saved.duration_s,
        targets=tuple(results),
        score=compute_score(findings, RULES) if any(r.scanned for r in results) else None,
        options=dict(saved.options),
        notices=tuple(dict.fromkeys(notices)),
    )
    return finish_report(
        report,
        policy=config.policy if config is not None else None,
        baseline=baseline,
        gate=gate,
    )


def _judge_record(record: Mapping[str, Any], notices: list[str]) -> TargetResult:
    if record["record"] == "spec":
        return _judge_spec(record)
    target = _string(record, "target")
    scanned, error = record["scanned"], _string(record, "error")
    duration = record["duration_s"]
    if not isinstance(scanned, bool) or not _seconds(duration):
        raise CodecError("scanned or duration_s of the wrong type")
    if "families" not in record:  # never probed (the deadline, an unknown name)
        return TargetResult(target=target, scanned=scanned, error=error, duration_s=float(duration))
    entries = record["families"]
    if not isinstance(entries, list):
        raise CodecError("families: expected a list")
    known = {e.name: e for e in REGISTRY}
    names = [e.get("family") if isinstance(e, Mapping) else None for e in entries]
    for name in names:
        if name not in known:
            notices.append(f"this keywire has no check family {str(name)[:40]!r}: not judged")
    families = [known[n].load() for n in names if n in known]
    kept = {**record, "families": [e for e, n in zip(entries, names, strict=True) if n in known]}
    captured = restore(kept, families)
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    details: dict[str, object] = {}
    for family in families:
        outcome, found, detail = judge_family(family, captured[family.name], target)
        outcomes.append(outcome)
        findings.extend(found)
        if detail:
            details[family.name] = detail
    summaries = record.get("exchange_summaries", [])
    if not isinstance(summaries, list):
        raise CodecError("exchange_summaries: expected a list")
    details["exchanges"] = summaries
    result = TargetResult(
        target=target,
        scanned=scanned,
        error=error,
        findings=tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.location))),
        outcomes=tuple(outcomes),
        details=details,
    )
    if record.get("endpoint") is not None:
        from ..openapi.plan import Endpoint
        from ..openapi.results import annotate

        endpoint = Decoder([]).decode(record["endpoint"], Endpoint, "endpoint")
        result = annotate(result, endpoint)
    result = scrub_result(result)
    return dataclasses.replace(
        result,
        duration_s=float(duration),
        score=compute_score(result.findings, RULES) if result.scanned else None,
    )


def _judge_spec(record: Mapping[str, Any]) -> TargetResult:
    from ..openapi.model import ApiSpec
    from ..openapi.results import spec_result
    from ..openapi.static import spec_findings

    model = Decoder([]).decode(record["model"], ApiSpec, "model")
    summary, run_checks = record["summary"], record["run_checks"]
    if not isinstance(summary, dict) or not isinstance(run_checks, bool):
        raise CodecError("summary or run_checks of the wrong type")
    duration = record["duration_s"]
    if not _seconds(duration):
        raise CodecError("duration_s: not a number of seconds")
    findings = spec_findings(model) if run_checks else []
    return spec_result(model.source, findings, summary, float(duration))


def _string(record: Mapping[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise CodecError(f"{key}: expected a string")
    return value


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
