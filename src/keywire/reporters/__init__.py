"""Report formats. Each module has ``render(report) -> str`` and never prints."""

from __future__ import annotations

FORMATS: tuple[str, ...] = ("console", "json")
