"""The HTML report of ``keywire tokens``: one self-contained page, in the scan report's style.

It shows the same facts as the JSON report (:mod:`keywire.tokens.report`): the verdict and its
findings, the entropy bounds and estimate, every test with its p-value and the samples it used
and needed, predictions, and an inline SVG chart of the effective entropy per position against
each position's alphabet maximum. Like the scan report it has no script, no fonts and no
images, and a Content-Security-Policy that allows only its own stylesheet (see
:mod:`keywire.reporters._htmlpage`). Everything that came from the target or the token file
(URLs, sources, messages, evidence, redacted tokens) is escaped by Jinja's autoescape.

The chart's geometry is computed here, so tests can check it against the JSON report's
``analysis.entropy_per_position``: one ``<g class="pos">`` per position, carrying the position's
numbers as ``data-`` attributes and a ``<title>`` for people.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from .._dataclass import dataclass
from .._models import Finding
from .._version import __version__
from ..reporters._common import by_severity
from ..reporters._htmlpage import csp, environment, finding_view, stylesheet
from ._model import PositionStats, TokenAnalysis, Verdict
from ._special import format_p
from .report import Collection

# The chart's frame, in SVG user units (the page shows it at this size, smaller on narrow
# screens). 880 units of plot width leave ~7 per position at 128 positions.
WIDTH = 960
LEFT, RIGHT = 64, 16
LEGEND_Y = 14
LEGEND_ROW = 17  # a second legend row, if the first is full, still ends above the field labels
PLOT_TOP = 56
PLOT_HEIGHT = 200
PLOT_BOTTOM = PLOT_TOP + PLOT_HEIGHT
HEIGHT = PLOT_BOTTOM + 52
PLOT_WIDTH = WIDTH - LEFT - RIGHT
MAX_BAR = 40.0
MAX_TICKS = 16
_FULL_EPS = 0.005  # effective_bits is rounded to 3 places; below max by more is a reduction
_TICK_STEPS = (1, 2, 4, 5, 8, 10, 16, 20, 32, 50, 64, 100, 128, 256, 512)
_CHAR_W = 7.0  # rough width of a 13px character, to decide whether a label fits

_DASH = "\N{EN DASH}"  # a value that does not exist

LEGEND = {
    "eff-full": "effective entropy",
    "eff-low": "reduced (bias found)",
    "track": "alphabet maximum",
    "eff-untested": "not tested (too few samples)",
    "eff-zero": "0 bits (constant or explained)",
    "shannon": "Shannon estimate",
    "field": "explained by a field",
    "ref": "",  # the token alphabet's width; its text depends on the alphabet
}


@dataclass(frozen=True, kw_only=True)
class Bar:
    """One position of the chart: its numbers (as in the JSON report) and where they are drawn."""

    position: int
    max_bits: float
    effective_bits: float
    shannon_bits: float
    status: str  # "eff-full", "eff-low", "eff-untested", "eff-zero"
    label: str  # the <title>: what a person needs to read this position
    x: float
    width: float
    track_y: float
    track_h: float
    bar_y: float
    bar_h: float
    shannon_y: float | None


def _bar_status(p: PositionStats) -> str:
    if p.alphabet <= 1 or p.max_bits <= 0:
        return "eff-zero"
    if not p.tested:
        return "eff-untested"
    return "eff-full" if p.effective_bits >= p.max_bits - _FULL_EPS else "eff-low"


def _position_label(p: PositionStats, field: str | None) -> str:
    head = f"position {p.position}: "
    if p.alphabet <= 1:
        why = f"explained by the {field} field" if field else "the same character in every token"
        return head + f"0 bits ({why})"
    text = (
        head + f"effective {p.effective_bits:.2f} of {p.max_bits:.2f} bits "
        f"(alphabet of {p.alphabet}, {p.distinct} seen), Shannon {p.shannon_bits:.2f}"
    )
    if not p.tested:
        return text + "; not tested: fewer than 5 samples per symbol, the bar is only the bound"
    if p.chi2_p is not None:
        text += f"; chi-square p={format_p(p.chi2_p)}"
    if p.transition_p is not None:
        text += f"; transitions p={format_p(p.transition_p)}"
    return text


def _tick_step(n: int) -> int:
    for step in _TICK_STEPS:
        if math.ceil(n / step) <= MAX_TICKS:
            return step
    return max(1, math.ceil(n / MAX_TICKS))


def _legend(present: set[str], reference: str) -> list[dict[str, Any]]:
    items, x, y = [], float(LEFT), LEGEND_Y
    for key, text in LEGEND.items():
        if key not in present:
            continue
        text = text or reference
        step = 22 + len(text) * 6.2 + 18
        if x + step > WIDTH - RIGHT + 18 and x > LEFT:
            x, y = float(LEFT), y + LEGEND_ROW
        items.append({"key": key, "x": round(x, 1), "y": y, "text": text})
        x += step
    return items


def chart(analysis: TokenAnalysis) -> dict[str, Any] | None:
    """The per-position chart's geometry, or None when the tokens have no positions."""
    positions = analysis.positions
    n = len(positions)
    if n == 0:
        return None
    s = analysis.structure
    as_written = analysis.view.startswith("as written")
    reference = math.log2(s.alphabet_size) if as_written and s.alphabet_size > 1 else 0.0
    top = max([reference, 1.0] + [p.max_bits for p in positions])
    y_max = max(1, math.ceil(top - 1e-9))
    band = PLOT_WIDTH / n
    width = min(band * 0.72, MAX_BAR)

    def y(bits: float) -> float:
        return round(PLOT_BOTTOM - bits / y_max * PLOT_HEIGHT, 2)

    def x_at(i: float) -> float:
        return round(LEFT + i * band, 2)

    field_at: dict[int, str] = {}
    fields = []
    for f in s.fields:
        if not 0 <= f.start < f.end <= n:
            continue
        for i in range(f.start, f.end):
            field_at.setdefault(i, f.kind)
        x0, x1 = x_at(f.start), x_at(f.end)
        fields.append(
            {
                "x": x0,
                "width": round(x1 - x0, 2),
                "mid": round((x0 + x1) / 2, 2),
                "text": f.kind if (x1 - x0) >= len(f.kind) * _CHAR_W + 6 else "",
                "label": f"positions {f.start}-{f.end - 1}: {f.kind}, "
                f"{f.unpredictable:.1f} of {f.bits:.1f} bits unpredictable ({f.detail})",
            }
        )
    bars = []
    for i, p in enumerate(positions):
        status = _bar_status(p)
        shown = p.max_bits if status == "eff-untested" else p.effective_bits
        bar_y = y(shown) if status != "eff-zero" else PLOT_BOTTOM - 2.0
        bars.append(
            Bar(
                position=p.position,
                max_bits=p.max_bits,
                effective_bits=p.effective_bits,
                shannon_bits=p.shannon_bits,
                status=status,
                label=_position_label(p, field_at.get(i)),
                x=round(LEFT + i * band + (band - width) / 2, 2),
                width=round(width, 2),
                track_y=y(p.max_bits),
                track_h=round(PLOT_BOTTOM - y(p.max_bits), 2),
                bar_y=round(bar_y, 2),
                bar_h=round(PLOT_BOTTOM - bar_y, 2),
                shannon_y=y(p.shannon_bits) if p.alphabet > 1 else None,
            )
        )
    step = _tick_step(n)
    grid_step = 1 if y_max <= 8 else 2
    present = {b.status for b in bars} | {"track"}
    present |= {"shannon"} if any(b.shannon_y is not None for b in bars) else set()
    present |= {"field"} if fields else set()
    present |= {"ref"} if reference else set()
    ref_text = f"{s.charset} alphabet: {reference:.3g} bits per character"
    if not as_written:
        x_title = "digit of the token's value, as read for the tests (0 = most significant)"
    elif analysis.view != "as written":
        x_title = "character position in the token, separators left out (0 = first)"
    else:
        x_title = "character position in the token (0 = first)"
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": PLOT_TOP,
        "bottom": PLOT_BOTTOM,
        "mid_y": PLOT_TOP + PLOT_HEIGHT / 2,
        "mid_x": LEFT + PLOT_WIDTH / 2,
        "x_title": x_title,
        "legend": _legend(present, ref_text),
        "grid": [(b, y(b)) for b in range(0, y_max + 1, grid_step)],
        "ticks": [(i, round(LEFT + (i + 0.5) * band, 2)) for i in range(0, n, step)],
        "reference": y(reference) if reference else None,
        "fields": fields,
        "bars": bars,
        "count": n,
    }


def _test_rows(analysis: TokenAnalysis) -> list[dict[str, Any]]:
    rows = []
    for t in analysis.tests:
        # The samples a verdict rests on are in their own column: "no weakness found at N".
        if t.verdict is Verdict.NOT_RUN:
            verdict = "not run"
        elif t.verdict is Verdict.WEAKNESS:
            verdict = "weakness"
        else:
            verdict = "no weakness found"
        rows.append(
            {
                "test": t,
                "verdict": verdict,
                "weak": t.verdict is Verdict.WEAKNESS,
                "p": format_p(t.p_value) if t.p_value is not None else _DASH,
                "threshold": f"{t.threshold:.3g}" if t.threshold is not None else _DASH,
                "used": t.samples if t.verdict is not Verdict.NOT_RUN else _DASH,
            }
        )
    return rows


def _instant(timestamp: float | None) -> str:
    if timestamp is None:
        return _DASH
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def context(
    analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding]
) -> dict[str, Any]:
    """The values the template renders (exposed for tests)."""
    worst = max((w.severity for w in analysis.weaknesses), key=lambda s: s.rank, default=None)
    estimate = analysis.effective_bits
    headline = estimate if estimate is not None else analysis.structure.unpredictable_bits
    s = analysis.structure
    return {
        "analysis": analysis,
        "collection": collection,
        "structure": s,
        "weak": analysis.weak,
        "summary": analysis.summary(),
        "weak_summary": analysis.summary().removeprefix("weak: "),
        "badge_class": f"fill-{worst.value}" if worst is not None else "fill-none",
        "badge_bits": f"{headline:.0f}",
        "badge_prefix": "" if estimate is not None else "≤",
        "length": str(s.min_length)
        if s.min_length == s.max_length
        else f"{s.min_length}-{s.max_length}",
        "groups": [(sev.value, [finding_view(f) for f in fs]) for sev, fs in by_severity(findings)],
        "chart": chart(analysis),
        "tests": _test_rows(analysis),
        "fields": list(s.fields),
        "sampled_at": _instant(collection.sampled_at),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "tool_version": __version__,
        "p": format_p,
    }


def render(analysis: TokenAnalysis, collection: Collection, findings: Sequence[Finding]) -> str:
    """The token report as one self-contained HTML document."""
    css = stylesheet("report.css", "tokens.css")
    template = environment().get_template("tokens.html.j2")
    return template.render(css=css, csp=csp(css), **context(analysis, collection, findings))
