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

from ..._dataclass import dataclass
from ..._models import Confidence, Severity
from ...redact import redact
from .._alphabet import Charset
from .._model import Prediction, TestResult, Verdict, Weakness, WeaknessKind
from . import clockhash, lcg, mt19937, timeseed
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
    sent_times: Sequence[float] | None = None,
    server_dates: Sequence[float | None] | None = None,
) -> PredictResult:
    """Try every predictor on ``tokens`` (in issue order).

    ``token_times`` (when each token was received, or recorded in a file), ``sent_times``
    (when its request left) and ``server_dates`` (the responses' ``Date`` headers) place each
    token on the server's clock for the hashed-clock search (:mod:`.clockhash`).
    """
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
    hashed, hashed_test = _try_clock_hash(
        tokens,
        token_times=token_times,
        sent_times=sent_times,
        server_dates=server_dates,
        budget_s=budget_s,
        skip=seeded is not None,
    )
    tests.append(hashed_test)
    if hashed is not None:
        predictions.append(hashed)
    weaknesses = tuple(_weakness(p, n) for p in predictions if p.confirmed)
    return PredictResult(predictions=tuple(predictions), tests=tuple(tests), weaknesses=weaknesses)


def _try_clock_hash(
    tokens: Sequence[str],
    *,
    token_times: Sequence[float] | None,
    sent_times: Sequence[float] | None,
    server_dates: Sequence[float | None] | None,
    budget_s: float,
    skip: bool,
) -> tuple[Prediction | None, TestResult]:
    n = len(tokens)

    def result(verdict: Verdict, detail: str, *, applicable: bool = True) -> TestResult:
        return TestResult(
            name="predict.clock_hash",
            title="Hashes of a fine clock (ms, µs, Python floats)",
            verdict=verdict,
            samples=n,
            min_samples=1,
            detail=detail,
            applicable=applicable,
        )

    if not any(clockhash.decodings(t) for t in tokens[:20]):
        return None, result(
            Verdict.NOT_RUN, "the tokens are not hex or base64 of 8 bytes or more", applicable=False
        )
    if not token_times or len(token_times) != n:
        return None, result(
            Verdict.NOT_RUN,
            "needs each token's time: collect live, or give a time after each token in the file",
            applicable=False,
        )
    if skip:
        return None, result(Verdict.NO_WEAKNESS, "not needed: a time-seeded generator matched")
    sent = list(sent_times) if sent_times and len(sent_times) == n else None
    dates = list(server_dates) if server_dates and len(server_dates) == n else None
    spans = clockhash.windows(sent, list(token_times), dates)
    found, tried, cut = clockhash.search(tokens, spans, budget_s=budget_s)
    widest = max(w.high - w.low for w in spans[: clockhash.MAX_SEARCHED])
    where = (
        f"{tried} candidate instants hashed, within {widest * 1000:.1f} ms windows around "
        f"the capture times"
        + (" (clock offset from the Date headers)" if dates and any(dates) else "")
        + (
            "; cut short: the time budget, or a window far wider than it can cover (the "
            "server's Date headers came from too short a time to place its clock: collect "
            "over more seconds)"
            if cut
            else ""
        )
    )
    if found is None:
        return None, result(Verdict.NO_WEAKNESS, where)
    detail = (
        f"{found.matched} token(s) reproduced by hashing the instant they were issued at; the "
        f"server's clock is {found.offset_s * 1000:+.1f} ms from keywire's; chance of a "
        f"coincidence {found.coincidence:.1e}"
    )
    prediction = Prediction(
        generator=found.generator,
        confirmed=True,
        samples_used=1,
        verified=found.matched - 1,
        next_tokens=(),
        detail=detail
        + ". The next token is the hash of the instant it is issued at: a few thousand "
        "candidates per millisecond for whoever knows roughly when",
        parameters={"clock": found.clock, "candidates_tried": str(found.tried)},
    )
    return prediction, result(Verdict.WEAKNESS, detail)


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
            **({"next_token": prediction.next_tokens[0]} if prediction.next_tokens else {}),
            "verified": str(prediction.verified),
            "detail": prediction.detail,
            **{f"parameter_{k}": v for k, v in prediction.parameters.items()},
        },
    )


__all__ = ["DEFAULT_TIME_WINDOW", "MASK32", "PredictResult", "predict_tokens", "samples_needed"]
