"""The HTML report of ``keywire tokens``: verdict, tests, the per-position chart, escaping, and a
clean render in a real browser.

The chart is checked against the JSON report of the same run (one sample, two formats), so the
bars are the analysis' numbers and not a re-computation.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from keywire.cli import main
from keywire.tokens import analyze
from keywire.tokens import html as tokens_html
from keywire.tokens._special import format_p
from keywire.tokens.report import Collection, render
from keywire.tokens.rules import findings as token_findings
from labs.tokens_api import generators

from ..htmlcheck import IMG, PAYLOAD, SCRIPT
from ..htmlcheck import parse as _parse
from ..reporters.chromium import chromium_path, open_page

SVG_NS = "{http://www.w3.org/2000/svg}"


def _run(tmp_path: Path, tokens: list[str], *args: str) -> tuple[int, dict, str]:
    """``keywire tokens --file`` with a JSON report on stdout and the HTML one in a file."""
    source = tmp_path / "tokens.txt"
    source.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    page = tmp_path / "out" / "tokens.html"
    page.parent.mkdir(exist_ok=True)  # keywire creates no directories
    result = CliRunner().invoke(
        main,
        ["tokens", "--file", str(source), "--format", "json", "-o", f"html:{page}", *args],
    )
    assert f"html report written to {page}" in result.stderr
    return result.exit_code, json.loads(result.stdout), page.read_text(encoding="utf-8")


def _chart(page: str) -> ET.Element:
    match = re.search(r'<svg class="chart tokchart".*?</svg>', page, re.S)
    assert match is not None, "no per-position chart"
    # The chart is well-formed XML as written (Jinja escapes to XML-safe entities).
    return ET.fromstring(match[0].replace("<svg ", f'<svg xmlns="{SVG_NS[1:-1]}" ', 1))


def _positions(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG_NS}g") if g.get("class") == "pos"]


def _rect(group: ET.Element, cls: str) -> ET.Element | None:
    for rect in group.iter(f"{SVG_NS}rect"):
        if cls in (rect.get("class") or "").split():
            return rect
    return None


def _check_chart_matches(page: str, document: dict) -> list[ET.Element]:
    """One group per position whose numbers and bar heights are the JSON report's."""
    expected = document["analysis"]["entropy_per_position"]
    svg = _chart(page)
    groups = _positions(svg)
    assert len(groups) == len(expected)
    grid = {
        int(t.text): float(t.get("y")) - 4
        for t in svg.iter(f"{SVG_NS}text")
        if t.get("class") == "tick" and t.get("text-anchor") == "end"
    }
    bottom, top_bits = grid[0], max(grid)
    per_bit = (bottom - grid[top_bits]) / top_bits
    lefts = []
    for group, row in zip(groups, expected, strict=True):
        assert int(group.get("data-position")) == row["position"]
        assert float(group.get("data-effective-bits")) == row["effective_bits"]
        assert float(group.get("data-max-bits")) == row["max_bits"]
        assert float(group.get("data-shannon-bits")) == row["shannon_bits"]
        title = group.find(f"{SVG_NS}title")
        assert title is not None and title.text.startswith(f"position {row['position']}: ")
        bar = _rect(group, "bar")
        assert bar is not None
        drawn = float(bar.get("height")) / per_bit
        if row["alphabet"] <= 1:
            assert "eff-zero" in bar.get("class")
        elif not row["tested"]:
            assert "eff-untested" in bar.get("class")
            assert drawn == pytest.approx(row["max_bits"], abs=0.02)
        else:
            assert drawn == pytest.approx(row["effective_bits"], abs=0.02)
            track = _rect(group, "track")
            assert track is not None
            assert float(track.get("height")) / per_bit == pytest.approx(row["max_bits"], abs=0.02)
            full = row["effective_bits"] >= row["max_bits"] - 0.005
            assert ("eff-full" if full else "eff-low") in bar.get("class")
        assert float(bar.get("y")) + float(bar.get("height")) == pytest.approx(bottom, abs=0.05)
        lefts.append((float(bar.get("x")), float(bar.get("width"))))
    # In order, side by side, inside the plot.
    for (x0, w0), (x1, _) in itertools.pairwise(lefts):
        assert x0 + w0 < x1
    assert lefts[0][0] >= tokens_html.LEFT
    assert lefts[-1][0] + lefts[-1][1] <= tokens_html.WIDTH - tokens_html.RIGHT
    return groups


def test_weak_generator(tmp_path):
    make = generators()["counter"]
    raw = [make() for _ in range(200)]
    code, document, page = _run(tmp_path, raw)
    assert code == 1 and document["verdict"] == "weak"
    assert "<strong>Weak:</strong> sequential tokens" in page
    # The finding, as the scan report shows findings: rule, CWE, severity, evidence.
    (finding,) = document["findings"]
    assert finding["rule_id"] == "KW803"
    assert '<span class="sev sev-high">high</span> <strong>KW803</strong>' in page
    assert ", ".join(finding["cwe"]) in page  # CWE-330, CWE-340
    assert "docs/rules/KW803.md" in page
    for key, value in finding["evidence"].items():  # redacted at capture, escaped here
        assert f"<dt>{key}</dt><dd><code>{escape(value)}</code></dd>" in page
    assert "samples_needed" in finding["evidence"]
    # The entropy bounds and estimate.
    structure = document["analysis"]["structure"]
    assert f"at most <strong>{structure['max_bits']:.1f}</strong> bits" in page
    assert (
        f"<strong>{document['analysis']['effective_bits']:.1f}</strong> bits at significance"
        in (page)
    )
    # Every test, with its p-value and the samples it used and needs.
    rows = re.findall(r"<tr><td><code>([\w.-]+)</code>.*?</tr>", page)
    assert rows == [t["name"] for t in document["analysis"]["tests"]]
    for test in document["analysis"]["tests"]:
        row = re.search(rf"<tr><td><code>{re.escape(test['name'])}</code>.*?</tr>", page)[0]
        if test["p_value"] is not None:
            assert f'<td class="num">{format_p(test["p_value"])}</td>' in row
        assert f'<td class="num">{test["min_samples"]}</td>' in row
        if test["verdict"] != "not_run":
            assert f'<td class="num">{test["samples"]}</td>' in row
    # The counter field is drawn over its positions; positions before it never change.
    groups = _check_chart_matches(page, document)
    assert len(groups) == 18
    assert 'class="fieldband"' in page and ">counter</text>" in page
    # Only redacted tokens.
    for token in raw:
        assert token not in page


def test_strong_generator(tmp_path):
    make = generators()["urlsafe"]
    raw = [make() for _ in range(400)]
    code, document, page = _run(tmp_path, raw)
    assert code == 0
    assert f"No weakness found at {len(raw)} samples." in page
    assert "never calls tokens random" in page
    assert 'class="finding"' not in page and "<strong>Weak" not in page
    assert 'class="weak"' not in page  # no test row says "weakness"
    groups = _check_chart_matches(page, document)
    assert len(groups) == 32
    # 400 samples test every position of a 64-symbol alphabet: full-width green bars.
    assert all("eff-full" in _rect(g, "bar").get("class") for g in groups)
    assert "base64url alphabet: 6 bits per character" in page
    for token in raw:
        assert token not in page


def test_reduced_positions_are_drawn_reduced(tmp_path):
    """A biased position is shorter than its alphabet's column and coloured as reduced."""
    rng = secrets.SystemRandom()

    def make() -> str:
        biased = "".join(rng.choice("0123456789abcdef" + "0" * 8) for _ in range(2))
        return secrets.token_hex(3) + biased + secrets.token_hex(5)

    _, document, page = _run(tmp_path, [make() for _ in range(800)], "--fail-on", "none")
    groups = _check_chart_matches(page, document)
    low = [int(g.get("data-position")) for g in groups if "eff-low" in _rect(g, "bar").get("class")]
    assert low == [6, 7]
    for row in document["analysis"]["entropy_per_position"][6:8]:
        assert row["effective_bits"] < 2.5 < row["max_bits"]
    assert "reduced (bias found)" in page  # in the legend


@pytest.mark.parametrize("length", [8, 128])
def test_chart_reads_at_8_and_128_positions(tmp_path, length):
    raw = [secrets.token_hex(length // 2) for _ in range(120)]
    _, document, page = _run(tmp_path, raw)
    groups = _check_chart_matches(page, document)
    assert len(groups) == length
    svg = _chart(page)
    widths = [float(_rect(g, "bar").get("width")) for g in groups]
    assert min(widths) >= 4.5  # still a visible bar at 128 positions
    assert max(widths) <= tokens_html.MAX_BAR  # and not a slab at 8
    ticks = [
        t.text
        for t in svg.iter(f"{SVG_NS}text")
        if t.get("class") == "tick" and t.get("text-anchor") == "middle" and t.text.isdigit()
    ]
    assert ticks[0] == "0" and 2 <= len(ticks) <= tokens_html.MAX_TICKS
    texts = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert "bits per position" in texts
    assert "character position in the token (0 = first)" in texts


def test_untested_positions_say_so(tmp_path):
    # 40 base64url tokens: fewer than 5 samples per symbol, so no position is tested.
    _, document, page = _run(tmp_path, [secrets.token_urlsafe(24) for _ in range(40)])
    groups = _check_chart_matches(page, document)
    assert all("eff-untested" in _rect(g, "bar").get("class") for g in groups)
    assert "fewer than 5 samples per symbol" in page and "not tested (too few samples)" in page


def test_integer_view_labels_digits(tmp_path):
    raw = [str(secrets.randbits(32)) for _ in range(200)]
    _, document, page = _run(tmp_path, raw)
    assert document["analysis"]["view"].startswith("integers below 2^32")
    _check_chart_matches(page, document)
    assert "digit of the token&#39;s value" in page


def test_a_field_in_decoded_bytes_is_listed_not_drawn(tmp_path):
    # A Unix time in the first 4 bytes of base64url tokens: a field with no character positions.
    now = int(time.time())
    raw = [
        base64.urlsafe_b64encode(struct.pack(">I", now + i // 10) + os.urandom(14)).decode()
        for i in range(30)
    ]
    _, document, page = _run(tmp_path, raw, "--sampled-at", str(now))
    fields = document["analysis"]["structure"]["fields"]
    assert any(f["kind"] == "timestamp" and f["start"] == -1 for f in fields)
    assert "<tr><td>timestamp</td><td>decoded value</td>" in page
    bands = [f for f in fields if f["start"] >= 0]
    assert page.count('class="fieldband"') == len(bands)
    _check_chart_matches(page, document)


def test_tokens_of_varying_length_have_no_chart(tmp_path):
    raw = [secrets.token_urlsafe(secrets.choice([16, 20, 24])) for _ in range(50)]
    _, document, page = _run(tmp_path, raw)
    assert document["analysis"]["entropy_per_position"] == []
    assert "No per-position chart: the tokens vary in length" in page
    assert 'class="pos"' not in page


def _hostile_analysis():
    tokens = [PAYLOAD + secrets.token_hex(4) for _ in range(30)]  # 32 bits: weak
    analysis = analyze(tokens, sampled_at=time.time())
    collection = Collection(
        target=f"https://api.test/{PAYLOAD}",
        source=f"header:{PAYLOAD}",
        requested=30,
        collected=30,
        requests=30,
        stopped=f"stopped: {PAYLOAD}",
        sampled_at=time.time(),
    )
    found = token_findings(analysis, target=collection.target, source=collection.source)
    return analysis, collection, found


def test_planted_markup_comes_out_inert():
    analysis, collection, found = _hostile_analysis()
    assert found  # too short: the finding carries the payload in its target and location
    page = tokens_html.render(analysis, collection, found)
    parsed = _parse(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    assert not re.search(r"<\s*(script|img)", page, re.I)
    text = "".join(parsed.text)
    assert text.count(SCRIPT) >= 4  # target, source, stop reason, finding location
    assert IMG in text
    assert "&lt;scrip" in page  # the redacted tokens' prefix, escaped


def test_hostile_source_and_file_name_through_the_cli(tokens_lab, tmp_path):
    # A body regex whose second branch is the payload: it still finds the token.
    source = f'body:"token": *"([^"]+)"|{PAYLOAD}'
    page_path = tmp_path / "live.html"
    args = ["tokens", f"{tokens_lab.url}/uuid1", "--from", source, "--samples", "5"]
    result = CliRunner().invoke(
        main, [*args, "--rate", "1000", "--format", "html", "-o", str(page_path)]
    )
    assert result.exit_code == 1, result.output
    page = page_path.read_text(encoding="utf-8")
    assert "KW802" in page
    named = tmp_path / f"{IMG}.txt"
    named.write_text("\n".join(secrets.token_hex(16) for _ in range(20)), encoding="utf-8")
    offline = CliRunner().invoke(main, ["tokens", "--file", str(named), "--format", "html"])
    assert offline.exit_code == 3  # 20 samples: no weakness found, but tests did not run
    for text in (page, offline.stdout):
        parsed = _parse(text)
        assert "script" not in parsed.tags and "img" not in parsed.tags
        assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    assert SCRIPT in "".join(_parse(page).text)
    assert f"file:{IMG}.txt" in "".join(_parse(offline.stdout).text)


def test_self_contained_with_strict_csp():
    analysis, collection, found = _hostile_analysis()
    page = tokens_html.render(analysis, collection, found)
    parsed = _parse(page)
    assert not {"link", "script", "iframe", "object", "embed", "img", "base", "form"} & set(
        parsed.tags
    )
    assert "@import" not in page and "url(" not in page and " style=" not in page
    for name, value in parsed.attrs:
        if name in {"src", "srcset", "data", "action", "poster"}:
            pytest.fail(f"{name}={value!r} would fetch something")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = unescape(csp[1])
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    (css,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy  # the one stylesheet, by its hash
    assert "--critical" in css and ".tokchart" in css  # the scan report's CSS plus the chart's


def test_render_dispatch_and_unknown_format():
    analysis, collection, found = _hostile_analysis()
    assert render(analysis, collection, found, "html").startswith("<!DOCTYPE html>")
    assert json.loads(render(analysis, collection, found, "json"))["kind"] == "keywire-tokens"
    assert render(analysis, collection, found, "console").startswith("keywire tokens:")
    with pytest.raises(ValueError, match="unknown format"):
        render(analysis, collection, found, "sarif")


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (["-o", "sarif:x.sarif"], "writes console, json, html, not sarif"),
        (["-o", "html:"], "give a file after 'html:'"),
        (["-o", "-", "-o", "json:-"], "only one report can go to stdout"),
    ],
)
def test_output_usage_errors_exit_2_before_any_request(outputs, message):
    result = CliRunner().invoke(
        main, ["tokens", "http://127.0.0.1:9/", "--from", "json:t", *outputs]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert "collecting" not in result.stderr


def test_plain_output_file_takes_the_format(tmp_path):
    source = tmp_path / "t.txt"
    source.write_text("\n".join(secrets.token_hex(16) for _ in range(20)), encoding="utf-8")
    target = tmp_path / "report.html"
    result = CliRunner().invoke(
        main,
        [
            "tokens",
            "--file",
            str(source),
            "--format",
            "html",
            "-o",
            str(target),
            "--allow-incomplete",
        ],
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.tools
def test_renders_in_chromium_without_errors(tmp_path, require_tools):
    if chromium_path() is None:
        if require_tools:
            pytest.fail("chromium is required (KEYWIRE_REQUIRE_TOOLS=1) but not installed")
        pytest.skip("chromium not installed")
    make = generators()["counter"]
    _, _, page = _run(tmp_path, [make() for _ in range(200)])
    analysis, collection, found = _hostile_analysis()
    pages = {"counter.html": page, "hostile.html": tokens_html.render(analysis, collection, found)}
    for name, text in pages.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        run = open_page(path, screenshot=True)
        assert run.loaded
        assert run.errors == [], name
        assert run.requests == [path.resolve().as_uri()], name  # nothing fetched but the file
        assert "Effective entropy per position" in run.text
        assert run.screenshot.startswith(b"\x89PNG")
    assert SCRIPT in run.text  # the hostile page shows the payload as text
