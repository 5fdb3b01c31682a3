"""What a token analysis produces: frozen values, holding redacted forms of tokens only.

TokenAnalysis
├── structure: Structure (kind, fields, entropy bounds)
├── tests: TestResult…       (each with its p-value, samples used and samples needed)
├── positions: PositionStats… (per-position entropy, for the report's chart)
├── predictions: Prediction…  (generators keywire tried to recover)
└── weaknesses: Weakness…     (what becomes findings, see keywire.tokens.rules)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import field

from .._dataclass import dataclass
from .._models import Confidence, Severity


class Verdict(enum.Enum):
    """The outcome of one test. There is no "random": only "no weakness found at N samples"."""

    WEAKNESS = "weakness"
    NO_WEAKNESS = "no_weakness_found"
    NOT_RUN = "not_run"


class WeaknessKind(enum.Enum):
    """What is wrong with a token set; each kind is reported under one rule (KW801-KW806)."""

    PREDICTED = "predicted"
    TIME_BASED = "time_based"
    SEQUENTIAL = "sequential"
    LOW_ENTROPY = "low_entropy"
    REPEATED = "repeated"
    NON_RANDOM = "non_random"


@dataclass(frozen=True, kw_only=True)
class TestResult:
    """One statistical test. ``threshold`` is the p-value below which it reports a weakness."""

    name: str
    title: str
    verdict: Verdict
    samples: int
    min_samples: int
    p_value: float | None = None
    statistic: float | None = None
    threshold: float | None = None
    detail: str = ""
    #: False when the test cannot apply to tokens of this kind, however many there are.
    applicable: bool = True

    @property
    def needs_more_samples(self) -> bool:
        """The test did not run (or ran only in part) because it had too few samples: the
        analysis is incomplete until it gets ``min_samples``."""
        return (
            self.applicable
            and self.verdict is not Verdict.WEAKNESS
            and self.samples < self.min_samples
        )


@dataclass(frozen=True, kw_only=True)
class Field:
    """A part of the token whose content keywire explained (a timestamp, a counter, a constant).

    ``start``/``end`` are positions in the positional view (the tokens as written unless the
    analysis says otherwise; -1 when the field lives in decoded bytes or in the whole value).
    ``bits`` is what the field occupies, ``unpredictable`` how many of those bits an attacker
    still has to guess.
    """

    kind: str
    start: int
    end: int
    bits: float
    unpredictable: float
    detail: str


@dataclass(frozen=True, kw_only=True)
class Structure:
    """What the tokens are made of, and the upper bounds on their entropy that follow.

    ``max_bits`` counts every position that varies at its alphabet's full width;
    ``unpredictable_bits`` additionally discounts what the fields explain (a timestamp is known
    to whoever knows the time). Both are upper bounds: the true entropy can only be lower.
    """

    kind: str
    charset: str
    alphabet_size: int
    min_length: int
    max_length: int
    max_bits: float
    unpredictable_bits: float
    fields: tuple[Field, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PositionStats:
    """One character position of the positional view (see ``keywire.tokens._alphabet``)."""

    position: int
    alphabet: int
    distinct: int
    max_bits: float
    shannon_bits: float
    effective_bits: float
    tested: bool
    chi2_p: float | None = None
    transition_p: float | None = None


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """A generator keywire recovered. ``confirmed`` means it predicted tokens it had not used."""

    generator: str
    confirmed: bool
    samples_used: int
    verified: int
    next_tokens: tuple[str, ...]  # redacted, see keywire.redact
    detail: str
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Weakness:
    """A conclusion about the token set, ready to become a finding."""

    kind: WeaknessKind
    title: str
    message: str
    severity: Severity
    confidence: Confidence
    samples_needed: int
    location: str
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TokenAnalysis:
    """Everything keywire concluded from a set of tokens. Holds no raw token."""

    samples: int
    distinct: int
    alpha: float
    structure: Structure
    view: str
    effective_bits: float | None
    tests: tuple[TestResult, ...]
    positions: tuple[PositionStats, ...]
    predictions: tuple[Prediction, ...]
    weaknesses: tuple[Weakness, ...]
    examples: tuple[str, ...]  # redacted
    duration_s: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def weak(self) -> bool:
        return bool(self.weaknesses)

    @property
    def untested(self) -> tuple[TestResult, ...]:
        """Tests that needed more samples than there were (see TestResult.needs_more_samples)."""
        return tuple(t for t in self.tests if t.needs_more_samples)

    @property
    def complete(self) -> bool:
        """Every test that applies to these tokens had the samples it needs."""
        return not self.untested

    @property
    def samples_wanted(self) -> int | None:
        """The sample count every applicable test needs, when more than there were."""
        return max((t.min_samples for t in self.untested), default=None)

    @property
    def verdict(self) -> str:
        """``weak``, ``incomplete`` (no weakness, but tests did not run) or ``no_weakness_found``."""
        if self.weaknesses:
            return "weak"
        return "no_weakness_found" if self.complete else "incomplete"

    def summary(self) -> str:
        """One line: the verdict, never "random", and what did not run for lack of samples."""
        missing = ""
        if not self.complete:
            names = dict.fromkeys(
                "fips140-2" if t.name.startswith("fips140-2.") else t.name for t in self.untested
            )
            missing = (
                f"; incomplete: {len(self.untested)} test(s) ({', '.join(names)}) need "
                f"{self.samples_wanted} samples"
            )
        if self.weaknesses:
            worst = max(self.weaknesses, key=lambda w: w.severity.rank)
            return f"weak: {worst.title} ({len(self.weaknesses)} weakness(es)){missing}"
        return f"no weakness found at {self.samples} samples{missing}"
