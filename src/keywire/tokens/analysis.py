"""The whole analysis of a token set: structure, statistics and prediction, then the verdict.

>>> import secrets
>>> result = analyze([secrets.token_urlsafe(24) for _ in range(400)])
>>> result.summary()
'no weakness found at 400 samples'
>>> analyze([secrets.token_urlsafe(24) for _ in range(50)]).verdict  # too few for every test
'incomplete'
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence

from ..redact import redact
from ._alphabet import infer_charset, positional_view, strip_padding
from ._model import Prediction, TestResult, TokenAnalysis, Weakness, WeaknessKind
from .predict import DEFAULT_TIME_WINDOW, predict_tokens, samples_needed
from .stats import DEFAULT_ALPHA, run_statistics
from .structure import StructureResult, analyze_structure

MAX_TOKENS = 200_000
MAX_TOKEN_LENGTH = 4096
_CAUSES = (
    WeaknessKind.PREDICTED,
    WeaknessKind.TIME_BASED,
    WeaknessKind.SEQUENTIAL,
    WeaknessKind.REPEATED,
)
#: Report order among equally severe weaknesses: the most specific explanation first.
_ORDER = (
    WeaknessKind.PREDICTED,
    WeaknessKind.REPEATED,
    WeaknessKind.TIME_BASED,
    WeaknessKind.SEQUENTIAL,
    WeaknessKind.LOW_ENTROPY,
    WeaknessKind.NON_RANDOM,
)


class NoTokens(ValueError):
    """There was nothing to analyse."""


def clean(tokens: Iterable[str]) -> list[str]:
    """Tokens as analysed: stripped, without empty ones, at most ``MAX_TOKENS`` of them."""
    out = []
    for token in tokens:
        token = token.strip()
        if token:
            out.append(token[:MAX_TOKEN_LENGTH])
            if len(out) >= MAX_TOKENS:
                break
    return out


def analyze(
    tokens: Iterable[str],
    *,
    sampled_at: float | None = None,
    token_times: Sequence[float] | None = None,
    alpha: float = DEFAULT_ALPHA,
    time_window: float = DEFAULT_TIME_WINDOW,
    predict: bool = True,
    predict_budget_s: float = 2.0,
    sent_times: Sequence[float] | None = None,
    server_dates: Sequence[float | None] | None = None,
) -> TokenAnalysis:
    """Analyse ``tokens``, given in the order they were issued.

    ``sampled_at`` (Unix time) is when they were collected, ``token_times`` each one's capture
    time when known; both anchor the searches for timestamps and time-seeded generators
    (``time_window`` seconds either side). With live samples, ``sent_times`` (when each request
    left) and ``server_dates`` (each response's ``Date``) narrow the instant each token was made,
    for the search of hashed fine clocks. ``alpha`` is the family-wise significance level of the
    statistical tests. The result holds no raw token.
    """
    started = time.perf_counter()
    cleaned = clean(tokens)
    if not cleaned:
        raise NoTokens("no tokens to analyse")
    times = list(token_times)[: len(cleaned)] if token_times else None
    if times is not None and len(times) != len(cleaned):
        times = None
    anchor = sampled_at if sampled_at is not None else time.time()
    around = times if times else [anchor]
    written = infer_charset(cleaned)
    rows = [strip_padding(t) for t in cleaned]
    view = positional_view(rows, written)
    charset = view.charset if view is not None else written
    shown = charset if view is not None and view.view.startswith("as written, without") else written
    structure = analyze_structure(
        cleaned, charset=charset, view=view, sampled_at=around, written=shown
    )
    tested = [1 if i in structure.explained else a for i, a in enumerate(structure.alphabets)]
    stats = run_statistics(view, alphabets=tested, alpha=alpha, tokens=rows, charset=charset)
    weaknesses: list[Weakness] = list(structure.weaknesses)
    predictions: tuple[Prediction, ...] = ()
    prediction_tests: tuple[TestResult, ...] = ()
    if predict:
        predicted = predict_tokens(
            cleaned,
            charset=written,
            around=around,
            window_s=time_window,
            token_times=times,
            budget_s=predict_budget_s,
            token_bits=max(len(t) for t in rows) * math.log2(max(written.size, 2)),
            sent_times=sent_times[: len(cleaned)] if times is not None and sent_times else None,
            server_dates=server_dates[: len(cleaned)]
            if times is not None and server_dates
            else None,
        )
        predictions = predicted.predictions
        prediction_tests = predicted.tests
        weaknesses = list(predicted.weaknesses) + weaknesses
    notes = []
    if stats.weakness is not None:
        if any(w.kind in _CAUSES for w in weaknesses):
            notes.append(
                "statistical tests also fail; that is what the weakness above looks like "
                "statistically, so it is not reported separately"
            )
        else:
            weaknesses.append(stats.weakness)
    if view is None:
        notes.append("tokens vary in length: positional tests do not apply")
    elif view.view.startswith("as written, without"):
        notes.append("positional tests ignore" + view.view.split("without", 1)[1])
    elif view.view != "as written":
        notes.append(f"positional tests read the tokens as {view.view}")
    examples = []
    for token in dict.fromkeys(cleaned):
        examples.append(str(redact(token)))
        if len(examples) == 3:
            break
    weaknesses.sort(key=lambda w: (-w.severity.rank, _ORDER.index(w.kind)))
    return TokenAnalysis(
        samples=len(cleaned),
        distinct=len(set(cleaned)),
        alpha=alpha,
        structure=structure.structure,
        view=view.view if view is not None else "none",
        effective_bits=_effective(stats.effective_bits, structure),
        tests=stats.tests + prediction_tests,
        positions=stats.positions,
        predictions=predictions,
        weaknesses=tuple(weaknesses),
        examples=tuple(examples),
        duration_s=round(time.perf_counter() - started, 3),
        notes=tuple(notes) + structure.structure.notes,
    )


def samples_wanted(tokens: Sequence[str], *, alpha: float = DEFAULT_ALPHA) -> int:
    """How many tokens like ``tokens`` every applicable test needs (never fewer than given).

    The statistics and the predictors state their needs for the format seen (hex, base64,
    32-bit numbers…); ``keywire tokens`` collects until this many, within its bounds. Cheap:
    no prediction is attempted, only the requirements are read.
    """
    cleaned = clean(tokens)
    if not cleaned:
        return 0
    probe = analyze(cleaned, alpha=alpha, predict=False)
    need = max((t.min_samples for t in probe.tests if t.applicable), default=0)
    written = infer_charset(cleaned)
    return max(len(cleaned), need, samples_needed(cleaned, written))


def _effective(positional: float | None, structure: StructureResult) -> float | None:
    """The statistical estimate over the positions tested, plus what the explained fields
    (timestamps, counters, a UUID's version) can hold; never above the structural bound."""
    if positional is None:
        return None
    fields = sum(f.unpredictable for f in structure.structure.fields if f.start >= 0)
    total = positional + (fields if structure.explained else 0.0)
    return round(min(total, structure.structure.max_bits), 2)
