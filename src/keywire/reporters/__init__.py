"""Report formats. Each module has ``render(report) -> str`` and never prints.

``console`` renders plain text (the CLI uses ``console.render_rich`` on a terminal); ``json`` is
the versioned machine format and ``jsonl`` its streamed form (a record per target, then a
summary); ``sarif`` is for code scanning; ``html`` is a self-contained page;
``markdown`` is for pull-request comments; ``junit`` is for CI test views.
"""

from __future__ import annotations

import importlib

from .._models import ScanReport

FORMATS: tuple[str, ...] = ("console", "json", "jsonl", "sarif", "html", "markdown", "junit")


#: The formats ``--framework`` groups by requirement (the others carry every mapping anyway).
GROUPABLE: tuple[str, ...] = ("console", "markdown", "html")


def render(report: ScanReport, fmt: str, *, framework: str | None = None) -> str:
    """Render ``report`` in format ``fmt`` (one of :data:`FORMATS`).

    ``framework`` (a :data:`keywire.compliance.FRAMEWORKS` ID) adds, in the formats of
    :data:`GROUPABLE`, the findings grouped by that framework's requirements.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{fmt}")
    text: str = (
        module.render(report, framework=framework) if fmt in GROUPABLE else module.render(report)
    )
    return text
