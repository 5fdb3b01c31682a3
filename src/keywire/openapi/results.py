"""The report entries of a spec-driven scan, from facts alone (no network): the spec's own
result, and the spec's mark on an endpoint's findings. :mod:`.scanplan` uses them while it
scans, ``keywire judge`` (:mod:`keywire.observations.judge`) when it grades saved observations.
"""

from __future__ import annotations

import dataclasses

from .._models import CheckOutcome, Finding, OutcomeStatus, TargetResult
from ..rules import RULES
from ..scoring import compute_score
from .plan import Endpoint

SPEC_CHECK = "openapi-spec"


def spec_result(
    source: str, findings: list[Finding], summary: dict[str, object], duration: float
) -> TargetResult:
    """The spec's own entry of the report: its static findings and what was planned."""
    return TargetResult(
        target=source,
        scanned=True,
        findings=tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.rule_id, f.location))),
        outcomes=(CheckOutcome(check=SPEC_CHECK, target=source, status=OutcomeStatus.COMPLETED),),
        details={"openapi": summary},
        duration_s=round(duration, 3),
        score=compute_score(findings, RULES),
    )


def annotate(result: TargetResult, endpoint: Endpoint) -> TargetResult:
    """Tie the core's findings to the spec: KW101 contradicts an https-only declaration."""
    findings: dict[str, Finding] = {}
    for finding in result.findings:
        if finding.rule_id == "KW101" and endpoint.declared_schemes == ("https",):
            finding = dataclasses.replace(
                finding,
                message=f"{finding.message} The spec declares HTTPS only.",
                evidence=(*finding.evidence, ("spec", endpoint.server_location)),
            )
        findings.setdefault(finding.fingerprint, finding)  # one finding per rule and location
    return dataclasses.replace(result, findings=tuple(findings.values()))
