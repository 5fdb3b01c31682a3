"""The weaknesses structural analysis reports, and how severe too few bits are (part of
:mod:`keywire.tokens.structure`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from .._models import Confidence, Severity
from ..redact import redact
from ._alphabet import Charset, Positional
from ._counter import COUNTER_ALPHA
from ._formats import FormatMatch
from ._model import Field, Weakness, WeaknessKind
from ._special import format_p, poisson_sf

ENTROPY_FLOOR = 64.0
ENUMERABLE_BITS = 40.0


def severity_for_bits(bits: float) -> Severity:
    """How bad ``bits`` of unpredictability are for a token that guards something."""
    if bits < ENUMERABLE_BITS:
        return Severity.HIGH
    if bits < ENTROPY_FLOOR:
        return Severity.MEDIUM
    return Severity.LOW


def time_weakness(known: FormatMatch, unpredictable: float, n: int) -> list[Weakness]:
    if unpredictable >= ENTROPY_FLOOR:
        return []
    return [
        Weakness(
            kind=WeaknessKind.TIME_BASED,
            title=f"time-based identifier ({known.kind})",
            message=(
                f"The tokens are {known.description}. Whoever knows roughly when one was issued "
                f"has at most {unpredictable:.0f} bits left to guess."
            ),
            severity=severity_for_bits(unpredictable),
            confidence=Confidence.HIGH if known.confident else Confidence.MEDIUM,
            samples_needed=1 if known.kind.startswith("uuid") else min(n, 2),
            location=known.kind,
            evidence={
                "format": known.kind,
                "unpredictable_bits": f"{unpredictable:.1f}",
                **known.evidence,
            },
        )
    ]


def embedded_weakness(field: Field, unpredictable: float, n: int) -> list[Weakness]:
    if unpredictable >= ENTROPY_FLOOR:
        return []
    return [
        Weakness(
            kind=WeaknessKind.TIME_BASED,
            title="timestamp embedded in the token",
            message=(
                f"Every token carries a timestamp near the sampling time ({field.detail}); "
                f"at most {unpredictable:.0f} bits are left to guess."
            ),
            severity=severity_for_bits(unpredictable),
            confidence=Confidence.HIGH if n >= 2 else Confidence.MEDIUM,
            samples_needed=min(n, 2),
            location="embedded-timestamp",
            evidence={"timestamp": field.detail, "unpredictable_bits": f"{unpredictable:.1f}"},
        )
    ]


def counter_weakness(field: Field, unpredictable: float, needed: int) -> Weakness:
    severity = severity_for_bits(unpredictable)
    tail = (
        "a neighbouring token reveals the others"
        if unpredictable < ENTROPY_FLOOR
        else "the rest of the token still carries enough entropy, but the counter reveals "
        "how many tokens were issued and in what order"
    )
    return Weakness(
        kind=WeaknessKind.SEQUENTIAL,
        title="sequential tokens (counter)",
        message=f"The tokens contain a counter ({field.detail}): {tail}. At most "
        f"{unpredictable:.0f} bits are left to guess.",
        severity=severity,
        confidence=Confidence.HIGH,
        samples_needed=needed,
        location=f"counter:{field.start}-{field.end}",
        evidence={"counter": field.detail, "unpredictable_bits": f"{unpredictable:.1f}"},
    )


def low_entropy(
    max_bits: float,
    charset: Charset,
    view: Positional | None,
    n: int,
    shortest: int,
    longest: int,
) -> Weakness:
    length = f"{shortest}" if shortest == longest else f"{shortest}-{longest}"
    if view is not None and view.value_bits is not None:
        what = f"{charset.name} numbers below 2^{view.value_bits}"
        one_token = float(view.value_bits)
    elif view is not None and view.view.startswith("integers below 10^"):
        what = f"{charset.name} numbers of {view.length} digits"
        one_token = view.length * math.log2(10)
    else:
        what = f"{length} {charset.name} characters"
        one_token = longest * math.log2(max(charset.size, 2))
    # The length and the alphabet alone settle it when even a full-width token is too short.
    needed = 1 if one_token < ENTROPY_FLOOR else n
    return Weakness(
        kind=WeaknessKind.LOW_ENTROPY,
        title="too little entropy",
        message=(
            f"{what} hold at most {max_bits:.0f} bits; a token that guards anything needs at "
            f"least {ENTROPY_FLOOR:.0f}."
        ),
        severity=severity_for_bits(max_bits),
        confidence=Confidence.HIGH if n >= 10 else Confidence.MEDIUM,
        samples_needed=needed,
        location="entropy",
        evidence={
            "max_bits": f"{max_bits:.1f}",
            "alphabet": f"{charset.name} ({charset.size} symbols)",
            "length": length,
        },
    )


def repeats(tokens: Sequence[str], max_bits: float) -> Weakness | None:
    n = len(tokens)
    if n < 2:
        return None
    counts = Counter(tokens)
    repeats = n - len(counts)
    if repeats == 0:
        return None
    if len(counts) == 1:
        value = next(iter(counts))
        return Weakness(
            kind=WeaknessKind.REPEATED,
            title="the same token every time",
            message=f"Every one of the {n} samples is the same value: it is not a per-client "
            "secret, or the generator does not change within the sampling time.",
            severity=Severity.HIGH,
            confidence=Confidence.HIGH if n >= 3 else Confidence.MEDIUM,
            samples_needed=2,
            location="repeats",
            evidence={"repeats": str(repeats), "distinct": "1", "value": str(redact(value))},
        )
    # Expected collisions among n tokens of max_bits bits (birthday bound).
    expected = n * (n - 1) / 2.0 * 2.0 ** (-max_bits)
    p_value = poisson_sf(repeats, expected)
    if p_value >= COUNTER_ALPHA:
        return None
    seen: set[str] = set()
    first_repeat = n
    for i, token in enumerate(tokens):
        if token in seen:
            first_repeat = i + 1
            break
        seen.add(token)
    value, times = counts.most_common(1)[0]
    message = (
        f"{repeats} of {n} samples repeat an earlier one (the most frequent appears "
        f"{times} times); a generator with {max_bits:.0f} bits would repeat with "
        f"probability {format_p(p_value)}."
    )
    return Weakness(
        kind=WeaknessKind.REPEATED,
        title="repeated tokens",
        message=message,
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        samples_needed=first_repeat,
        location="repeats",
        evidence={
            "repeats": str(repeats),
            "distinct": str(len(counts)),
            "most_frequent": str(redact(value)),
            "p_value": format_p(p_value),
        },
    )
