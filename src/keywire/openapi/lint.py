"""Linting API descriptions offline: what a spec declares about credential safety (KW901-KW907).

:func:`lint_spec` reads a file (and the files its ``$ref`` name, in its directory or below), never
the network: a URL is refused, and so is a ``$ref`` to one. The result is a report like a scan's
(one target per file), so the same policy, gate, exit codes and report formats apply.

>>> report = lint_report(["openapi.yaml"])  # doctest: +SKIP
>>> [f.rule_id for f in report.findings]  # doctest: +SKIP
['KW902']
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from .._models import CheckOutcome, OutcomeStatus, ScanReport, TargetResult
from .._version import __version__
from .loader import SpecError, load_spec

LINT_CHECK = "openapi-spec"


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def lint_spec(path: str) -> TargetResult:
    """The static findings of the API description in file ``path``.

    A description that cannot be read or understood is a target not scanned, with the reason
    (naming the document and the JSON pointer); a URL is refused (``lint-spec`` is offline).
    """
    from ..rules import RULES
    from ..scoring import compute_score
    from .build import build_model
    from .static import spec_findings

    started = time.perf_counter()
    if _is_url(path):
        return TargetResult(
            target=path,
            scanned=False,
            error="a URL: lint-spec reads files only (keywire scan --spec fetches URLs)",
        )
    try:
        model = build_model(asyncio.run(load_spec(path)))
    except SpecError as exc:
        return TargetResult(target=path, scanned=False, error=str(exc))
    findings = sorted(spec_findings(model), key=lambda f: (-f.severity.rank, f.rule_id, f.location))
    return TargetResult(
        target=path,
        scanned=True,
        findings=tuple(findings),
        outcomes=(CheckOutcome(check=LINT_CHECK, target=path, status=OutcomeStatus.COMPLETED),),
        details={"openapi": {"source": model.source, "version": model.version}},
        duration_s=round(time.perf_counter() - started, 3),
        score=compute_score(findings, RULES),
    )


def lint_report(paths: Sequence[str]) -> ScanReport:
    """A report with one target per file (not finished: see :func:`keywire.finish_report`)."""
    from ..rules import RULES
    from ..scoring import compute_score

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    targets = tuple(lint_spec(path) for path in paths)
    findings = [f for t in targets for f in t.findings]
    return ScanReport(
        tool_version=__version__,
        started_at=started,
        duration_s=round(time.perf_counter() - clock, 3),
        targets=targets,
        score=compute_score(findings, RULES),
        options={"lint_spec": True},
    )
