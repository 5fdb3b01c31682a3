"""Console labels of a spec-driven report (``keywire scan --spec``, ``keywire judge``)."""

from __future__ import annotations

from collections.abc import Mapping

from .._models import ScanReport
from ._report import Label

_SKIPPED_SHOWN = 20


def spec_labels(report: ScanReport) -> dict[str, Label]:
    """Console labels for a spec-driven scan: the operation each endpoint comes from, and which
    operations were skipped and why."""
    labels: dict[str, Label] = {}
    for target in report.targets:
        detail = target.details.get("openapi")
        if isinstance(detail, Mapping) and isinstance(detail.get("operation"), str):
            labels[target.target] = f"{detail['operation']} (from the spec)"
        elif isinstance(detail, Mapping) and "endpoints" in detail:
            probed = len(detail["endpoints"])
            total = detail.get("skipped_total", 0)
            lines = [
                f"API description: {probed} endpoint(s) probed, {total} operation(s) skipped"
                + (":" if total else "")
            ]
            listed = [s for s in detail.get("skipped", ()) if isinstance(s, Mapping)]
            for item in listed[:_SKIPPED_SHOWN]:
                lines.append(f"  skipped {item.get('operation')}: {item.get('reason')}")
            if total > min(len(listed), _SKIPPED_SHOWN):
                shown = min(len(listed), _SKIPPED_SHOWN)
                lines.append(f"  … and {total - shown} more (the JSON report lists them)")
            labels[target.target] = tuple(lines)
    return labels
