"""The report of ``keywire tokens``: JSON (versioned, ``schemas/tokens-1.schema.json``), text and
HTML (:mod:`keywire.tokens.html`, with a chart of the entropy per position).

All carry the same facts: how the tokens were collected, the verdict, every test with its
p-value and the samples it needed, the entropy bounds and the effective entropy per position
(``analysis.entropy_per_position``, the data for a chart), predictions and findings. Tokens
appear only redacted. Renderers return strings and never print. Text that came from the target
(token prefixes in redacted examples, field details, the source) is made visible in the text
report (:func:`keywire._display.visible`); the JSON keeps data and is made inert.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from .._dataclass import dataclass
from .._display import json_inert, visible
from .._models import Finding
from .._version import __version__
from ._model import TokenAnalysis, Verdict
from ._special import format_p

SCHEMA_VERSION = "1.1"
FORMATS: tuple[str, ...] = ("console", "json", "html")
_BARS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True, kw_only=True)
class Collection:
    """Where the tokens came from and how collecting them went."""

    target: str  # redacted URL, or the file name
    source: str  # "cookie:NAME", …, or "file"
    requested: int
    collected: int
    requests: int = 0
    failures: int = 0
    missing: int = 0
    elapsed_s: float = 0.0
    stopped: str = "complete"
    sampled_at: float | None = None


def schema() -> dict[str, Any]:
    """The JSON Schema the report conforms to."""
    text = resources.files("keywire").joinpath("schemas/tokens-1.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value


def to_dict(
    analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding]
) -> dict[str, Any]:
    from ..reporters.json import finding_dict

    s = analysis.structure
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "keywire-tokens",
        "tool": {"name": "keywire", "version": __version__},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "collection": {
            "target": collection.target,
            "source": collection.source,
            "requested": collection.requested,
            "collected": collection.collected,
            "requests": collection.requests,
            "failures": collection.failures,
            "missing": collection.missing,
            "elapsed_s": collection.elapsed_s,
            "stopped": collection.stopped,
            "sampled_at": (
                datetime.fromtimestamp(collection.sampled_at, timezone.utc).isoformat(
                    timespec="seconds"
                )
                if collection.sampled_at is not None
                else None
            ),
        },
        "verdict": analysis.verdict,
        "summary": analysis.summary(),
        "complete": analysis.complete,
        "samples_wanted": analysis.samples_wanted,
        "analysis": {
            "samples": analysis.samples,
            "distinct": analysis.distinct,
            "alpha": analysis.alpha,
            "duration_s": analysis.duration_s,
            "view": analysis.view,
            "structure": {
                "kind": s.kind,
                "charset": s.charset,
                "alphabet_size": s.alphabet_size,
                "min_length": s.min_length,
                "max_length": s.max_length,
                "max_bits": s.max_bits,
                "unpredictable_bits": s.unpredictable_bits,
                "fields": [
                    {
                        "kind": f.kind,
                        "start": f.start,
                        "end": f.end,
                        "bits": round(f.bits, 2),
                        "unpredictable_bits": round(f.unpredictable, 2),
                        "detail": f.detail,
                    }
                    for f in s.fields
                ],
            },
            "effective_bits": analysis.effective_bits,
            "entropy_per_position": [
                {
                    "position": p.position,
                    "alphabet": p.alphabet,
                    "distinct": p.distinct,
                    "max_bits": p.max_bits,
                    "shannon_bits": p.shannon_bits,
                    "effective_bits": p.effective_bits,
                    "tested": p.tested,
                    "chi2_p": _number(p.chi2_p),
                    "transition_p": _number(p.transition_p),
                }
                for p in analysis.positions
            ],
            "tests": [
                {
                    "name": t.name,
                    "title": t.title,
                    "verdict": t.verdict.value,
                    "samples": t.samples,
                    "min_samples": t.min_samples,
                    "p_value": _number(t.p_value),
                    "statistic": _number(t.statistic),
                    "threshold": _number(t.threshold),
                    "detail": t.detail,
                    "needs_more_samples": t.needs_more_samples,
                }
                for t in analysis.tests
            ],
            "predictions": [
                {
                    "generator": p.generator,
                    "confirmed": p.confirmed,
                    "samples_used": p.samples_used,
                    "verified": p.verified,
                    "next_tokens": list(p.next_tokens),
                    "detail": p.detail,
                    "parameters": dict(p.parameters),
                }
                for p in analysis.predictions
            ],
            "weaknesses": [
                {
                    "kind": w.kind.value,
                    "title": w.title,
                    "severity": w.severity.value,
                    "confidence": w.confidence.value,
                    "samples_needed": w.samples_needed,
                }
                for w in analysis.weaknesses
            ],
            "examples": list(analysis.examples),
            "notes": list(analysis.notes),
        },
        "findings": [finding_dict(f) for f in findings],
    }


def render_json(
    analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding]
) -> str:
    document = json.dumps(to_dict(analysis, collection, findings), indent=2, ensure_ascii=False)
    return json_inert(document) + "\n"


def entropy_bars(analysis: TokenAnalysis) -> str:
    """The effective entropy per position as a one-line bar chart (full bar = 8 bits)."""
    out = []
    for p in analysis.positions:
        level = 0 if p.effective_bits <= 0 else max(1, min(8, round(p.effective_bits)))
        out.append(_BARS[level])
    return "".join(out)


def _incomplete(analysis: TokenAnalysis) -> list[str]:
    if analysis.complete:
        return []
    return [
        f"Incomplete: {len(analysis.untested)} test(s) did not run for lack of samples: "
        f"{', '.join(t.name for t in analysis.untested)}; collect at least "
        f"{analysis.samples_wanted} (keywire tokens --samples {analysis.samples_wanted})."
    ]


def render_text(
    analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding]
) -> str:
    """A plain-text report for people."""
    s = analysis.structure
    lines = [
        f"keywire tokens: {collection.target} ({collection.source})",
        f"  collected {collection.collected} of {collection.requested} sample(s)"
        + (
            f" in {collection.requests} request(s), {collection.elapsed_s:g} s"
            f" ({collection.stopped})"
            if collection.requests
            else ""
        ),
        "",
        f"Verdict: {analysis.summary()}",
        *_incomplete(analysis),
        "",
        f"Structure: {s.kind}; {s.charset} alphabet ({s.alphabet_size} symbols), length "
        + (f"{s.min_length}" if s.min_length == s.max_length else f"{s.min_length}-{s.max_length}"),
        f"Entropy per token: at most {s.max_bits:.1f} bits vary, at most "
        f"{s.unpredictable_bits:.1f} are unpredictable"
        + (
            f"; effective {analysis.effective_bits:.1f} bits at significance {analysis.alpha:g}"
            if analysis.effective_bits is not None
            else ""
        ),
    ]
    for field in s.fields:
        lines.append(f"  field {field.kind}: {field.detail}")
    if analysis.positions:
        lines.append(f"  effective bits per position: |{entropy_bars(analysis)}|")
    lines += ["", "Tests:"]
    for t in analysis.tests:
        if t.verdict is Verdict.NOT_RUN:
            verdict = (
                f"not run (needs {t.min_samples} samples)" if t.applicable else "does not apply"
            )
        elif t.verdict is Verdict.WEAKNESS:
            verdict = "WEAKNESS"
        else:
            verdict = f"no weakness found at {t.samples} samples"
        p_text = f" p={format_p(t.p_value)}" if t.p_value is not None else ""
        lines.append(f"  {t.name:<22} {verdict}{p_text}")
        if t.detail:
            lines.append(f"  {'':<22} {t.detail}")
    for p in analysis.predictions:
        lines += ["", f"Prediction: {p.generator}", f"  {p.detail}"]
        if p.next_tokens:
            lines.append(f"  next token(s), redacted: {', '.join(p.next_tokens)}")
    if findings:
        lines += ["", "Findings:"]
        for f in findings:
            lines.append(f"  [{f.severity.value.upper()}] {f.rule_id} {f.message}")
            lines.append(f"      samples needed: {dict(f.evidence).get('samples_needed', '?')}")
    if analysis.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in analysis.notes]
    if analysis.examples:
        lines += ["", "Examples (redacted): " + ", ".join(analysis.examples)]
    # Every line may hold text from the target (a token's redacted prefix keeps its first
    # characters): one pass at the boundary shows its control characters as escapes.
    return "\n".join(visible(line) for line in lines) + "\n"


def render(
    analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding], fmt: str
) -> str:
    """The report in ``fmt``, one of :data:`FORMATS` (``console`` is the plain-text report)."""
    if fmt == "json":
        return render_json(analysis, collection, findings)
    if fmt == "html":
        from . import html

        return html.render(analysis, collection, findings)
    if fmt == "console":
        return render_text(analysis, collection, findings)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
