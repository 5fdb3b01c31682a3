"""The tls family's probe (for now in :mod:`keywire.checks.tls`, which it re-exports)."""

from __future__ import annotations

from ..checks.tls import probe

__all__ = ["probe"]
