"""Token randomness analysis: is what an API issues as a secret actually unpredictable?

Pure analysis (no network here; :mod:`keywire.tokens.intake` takes tokens from a URL or a file,
as ``keywire tokens`` does):

* :mod:`~keywire.tokens.structure`: what 1-10 tokens are made of (UUID versions, ObjectIds,
  Snowflakes, embedded timestamps, counters, repeats) and upper bounds on their entropy;
* :mod:`~keywire.tokens.stats`: FIPS 140-2 and per-position tests with p-values, and the effective
  entropy per position;
* :mod:`~keywire.tokens.predict`: MT19937 state recovery, LCGs, time-seeded generators.

>>> import uuid
>>> from keywire.tokens import analyze
>>> analyze([str(uuid.uuid1()) for _ in range(3)]).weaknesses[0].kind.value
'time_based'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._model import (
        Field,
        PositionStats,
        Prediction,
        Structure,
        TestResult,
        TokenAnalysis,
        Verdict,
        Weakness,
        WeaknessKind,
    )
    from .analysis import NoTokens, analyze
    from .stats import DEFAULT_ALPHA

# Resolved on first use (PEP 562): the tokens check family needs the model and the rules for
# every scan, the analysis (statistics, predictors) only when a response carries tokens.
_LAZY = {
    "Field": "._model",
    "PositionStats": "._model",
    "Prediction": "._model",
    "Structure": "._model",
    "TestResult": "._model",
    "TokenAnalysis": "._model",
    "Verdict": "._model",
    "Weakness": "._model",
    "WeaknessKind": "._model",
    "NoTokens": ".analysis",
    "analyze": ".analysis",
    "DEFAULT_ALPHA": ".stats",
}

__all__ = [
    "DEFAULT_ALPHA",
    "Field",
    "NoTokens",
    "PositionStats",
    "Prediction",
    "Structure",
    "TestResult",
    "TokenAnalysis",
    "Verdict",
    "Weakness",
    "WeaknessKind",
    "analyze",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
