"""Token randomness analysis: is what an API issues as a secret actually unpredictable?

Pure analysis (no network here; :mod:`keywire.tokens.intake` takes tokens from a URL or a file,
as ``keywire tokens`` does):

* :mod:`~keywire.tokens.structure`: what 1-10 tokens are made of (UUID versions, ObjectIds,
  Snowflakes, embedded timestamps, counters, repeats) and upper bounds on their entropy;
* :mod:`~keywire.tokens.stats`: FIPS 140-2 and per-position tests with p-values, and the effective
  entropy per position;
* :mod:`~keywire.tokens.predict`: MT19937 state recovery, LCGs, time-seeded generators.

>>> import uuid
>>> analyze([str(uuid.uuid1()) for _ in range(3)]).weaknesses[0].kind.value
'time_based'
"""

from __future__ import annotations

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
