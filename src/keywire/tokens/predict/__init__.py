"""Prediction: recover the generator behind the tokens and compute the next ones.

Each predictor reads the tokens through every plausible encoding
(:mod:`~keywire.tokens.predict._streams`) and reports a :class:`~keywire.tokens.Prediction`
only when the recovered generator reproduced tokens it was not fitted to. Predicted tokens are
redacted (:func:`keywire.redact.redact`) before they leave this package: the fingerprint lets the
user check a prediction against the next real token without keywire ever printing one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..._models import Confidence, Severity
from ...redact import redact
from .._alphabet import Charset
from .._model import Prediction, TestResult, Verdict, Weakness, WeaknessKind
from . import lcg, mt19937, timeseed
from ._streams import MASK32, Stream, streams

DEFAULT_TIME_WINDOW = 3600.0
_MT_GAP = 4096


@dataclass(frozen=True, kw_only=True)
class PredictResult:
    predictions: tuple[Prediction, ...]
    tests: tuple[TestResult, ...]
    weaknesses: tuple[Weakness, ...]


def predict_tokens(
    tokens: Sequence[str],
    *,
    charset: Charset,
    around: Sequence[float],
    window_s: float = DEFAULT_TIME_WINDOW,
    token_times: Sequence[float] | None = None,
    budget_s: float = 2.0,
    token_bits: float = 128.0,
) -> PredictResult:
    """Try every predictor on ``tokens`` (in issue order)."""
    readings = streams(tokens, charset)
    n = len(tokens)
    predictions: list[Prediction] = []
    tests: list[TestResult] = []

    mt, mt_test = _try_mt(readings, n)
    tests.append(mt_test)
    if mt is not None:
        predictions.append(mt)

    found_lcg, lcg_test = _try_lcgs(readings, n)
    tests.append(lcg_test)
    if found_lcg is not None:
        predictions.append(found_lcg)

    seeded, tried, cut = timeseed.search(
        tokens,
        charset=charset,
        streams=readings,
        around=around,
        window_s=window_s,
        token_times=token_times,
        budget_s=budget_s,
        token_bits=token_bits,
    )
    span = f"±{window_s:g} s around the sampling time" + (
        " and ±2 s in ms around the first capture times" if token_times else ""
    )
    if seeded is not None:
        predictions.append(
            Prediction(
                generator=seeded.generator,
                confirmed=True,
                samples_used=seeded.matched,
                verified=seeded.matched,
                next_tokens=tuple(str(redact(t)) for t in seeded.upcoming),
                detail=(
                    f"{seeded.matched} token(s) reproduced from {seeded.unit} "
                    f"{seeded.first_seed}-{seeded.last_seed}; chance of a coincidence "
                    f"{seeded.coincidence:.1e}"
                ),
                parameters={"seed_unit": seeded.unit, "seeds_tried": str(seeded.seeds_tried)},
            )
        )
    tests.append(
        TestResult(
            name="predict.time_seeded",
            title="Time-seeded generators (bounded search)",
            verdict=Verdict.WEAKNESS if seeded is not None else Verdict.NO_WEAKNESS,
            samples=n,
            min_samples=1,
            detail=f"{tried} instants tried ({span})"
            + ("; stopped at the time budget" if cut else ""),
        )
    )
    weaknesses = tuple(_weakness(p, n) for p in predictions if p.confirmed)
    return PredictResult(predictions=tuple(predictions), tests=tuple(tests), weaknesses=weaknesses)


def _try_mt(readings: Sequence[Stream], n: int) -> tuple[Prediction | None, TestResult]:
    best_need = None
    for stream in readings:
        words = stream.words_le()
        if words is None:
            continue
        per_token = stream.bits // 32
        need = math.ceil((mt19937.N + 1) / per_token)
        best_need = need if best_need is None else min(best_need, need)
        if len(words) < mt19937.N + 1:
            continue
        verified = mt19937.verify(words, checks=64)
        gap = 0
        if verified == 0:
            verified = mt19937.verify(words, max_gap=_MT_GAP, checks=8)
            gap = _MT_GAP
            if verified < 2:
                continue
        clone = mt19937.Clone(words)
        upcoming = []
        for _ in range(2):
            value = 0
            for i in range(per_token):
                value |= clone.next() << (32 * i)
            upcoming.append(stream.render(value))
        prediction = Prediction(
            generator="MT19937 (Python random, getrandbits" + f"({stream.bits}) as {stream.name})",
            confirmed=True,
            samples_used=math.ceil(mt19937.N / per_token),
            verified=verified,
            next_tokens=tuple(str(redact(t)) for t in upcoming),
            detail=(
                f"state rebuilt from {mt19937.N} consecutive 32-bit outputs "
                f"({math.ceil(mt19937.N / per_token)} tokens); it then predicted the next "
                f"{verified} output(s) exactly"
                + (" (allowing outputs drawn by other clients in between)" if gap else "")
            ),
            parameters={"encoding": stream.name, "words_per_token": str(per_token)},
        )
        return prediction, TestResult(
            name="predict.mt19937",
            title="Mersenne Twister state recovery",
            verdict=Verdict.WEAKNESS,
            samples=n,
            min_samples=need,
            detail=prediction.detail,
        )
    if best_need is None:
        return None, TestResult(
            name="predict.mt19937",
            title="Mersenne Twister state recovery",
            verdict=Verdict.NOT_RUN,
            samples=n,
            min_samples=mt19937.N + 1,
            detail="the tokens do not decode to whole 32-bit outputs",
            applicable=False,
        )
    if n < best_need:
        return None, TestResult(
            name="predict.mt19937",
            title="Mersenne Twister state recovery",
            verdict=Verdict.NOT_RUN,
            samples=n,
            min_samples=best_need,
            detail=f"needs {mt19937.N} consecutive outputs and one more to confirm "
            f"({best_need} tokens of this size)",
        )
    return None, TestResult(
        name="predict.mt19937",
        title="Mersenne Twister state recovery",
        verdict=Verdict.NO_WEAKNESS,
        samples=n,
        min_samples=best_need,
        detail="no encoding of the tokens continues as an MT19937 stream",
    )


def _try_lcgs(readings: Sequence[Stream], n: int) -> tuple[Prediction | None, TestResult]:
    tried = []
    for stream in readings:
        found: lcg.Lcg | None = None
        per_token = 1
        if not stream.signed and n >= 8:
            tried.append("full-state LCG")
            found = lcg.solve_full(stream.values)
        if found is None and stream.bits in (32, 64):
            words = stream.words_java()
            if words is not None and len(words) >= 3:
                tried.append("java.util.Random")
                per_token = stream.bits // 32
                found = lcg.solve_java(words, per_token=per_token)
        if found is None and not stream.signed and n >= 4 and max(stream.values) <= 0x7FFF:
            tried.append("MSVC rand()")
            found = lcg.solve_msvc(stream.values)
        if found is None and not stream.signed and n >= 41 and max(stream.values) < 1 << 31:
            tried.append("glibc random()")
            found = lcg.solve_glibc_random(stream.values)
        if found is None:
            continue
        verified = found.verified if per_token == 1 else found.verified // per_token
        if verified < 1:
            continue
        # Java prints its ints and longs signed; other readings are unsigned.
        keep_sign = stream.signed or (found.name.startswith("java") and stream.name == "decimal")
        upcoming = [
            stream.render(v if keep_sign or v >= 0 else v & ((1 << stream.bits) - 1))
            for v in found.upcoming[:2]
        ]
        samples = math.ceil(found.fitted / per_token)
        prediction = Prediction(
            generator=found.name,
            confirmed=True,
            samples_used=samples,
            verified=verified,
            next_tokens=tuple(str(redact(t)) for t in upcoming),
            detail=(
                f"parameters found from {samples} token(s) ({stream.name}); they reproduced "
                f"the other {verified} exactly"
            ),
            parameters=dict(found.parameters),
        )
        return prediction, TestResult(
            name="predict.lcg",
            title="Linear congruential and additive generators",
            verdict=Verdict.WEAKNESS,
            samples=n,
            min_samples=samples + 1,
            detail=prediction.detail,
        )
    need = _lcg_need(readings)
    return None, TestResult(
        name="predict.lcg",
        title="Linear congruential and additive generators",
        verdict=Verdict.NO_WEAKNESS if tried else Verdict.NOT_RUN,
        samples=n,
        min_samples=need or 3,
        detail=("tried " + ", ".join(sorted(set(tried)))) if tried else "no integer reading fits",
        applicable=need is not None,
    )


def _lcg_need(readings: Sequence[Stream]) -> int | None:
    """Tokens every LCG solver that fits some reading needs (None: no integer reading)."""
    needs = []
    for stream in readings:
        if stream.bits in (32, 64) and stream.words_java() is not None:
            needs.append(3)
        if stream.signed:
            continue
        needs.append(8)
        if stream.values and max(stream.values) <= 0x7FFF:
            needs.append(4)
        if stream.values and max(stream.values) < 1 << 31:
            needs.append(41)
    return max(needs, default=None)


def samples_needed(tokens: Sequence[str], charset: Charset) -> int:
    """How many tokens like these the predictors need (MT19937's 624 outputs, the LCGs)."""
    readings = streams(tokens, charset)
    needs = [_lcg_need(readings) or 0]
    for stream in readings:
        if stream.words_le() is not None:
            needs.append(math.ceil((mt19937.N + 1) / (stream.bits // 32)))
    return max(needs)


def _weakness(prediction: Prediction, n: int) -> Weakness:
    return Weakness(
        kind=WeaknessKind.PREDICTED,
        title=f"predictable generator: {prediction.generator}",
        message=(
            f"keywire recovered the generator ({prediction.generator}) and predicted "
            f"{prediction.verified} token(s) it had not used; anyone can compute the tokens "
            "this service issues next."
        ),
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        samples_needed=min(n, prediction.samples_used + 1),
        location=f"predicted:{prediction.generator.split(' ')[0]}",
        evidence={
            "generator": prediction.generator,
            "next_token": prediction.next_tokens[0] if prediction.next_tokens else "",
            "verified": str(prediction.verified),
            "detail": prediction.detail,
            **{f"parameter_{k}": v for k, v in prediction.parameters.items()},
        },
    )


__all__ = ["DEFAULT_TIME_WINDOW", "MASK32", "PredictResult", "predict_tokens", "samples_needed"]
