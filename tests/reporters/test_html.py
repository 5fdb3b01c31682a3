"""The HTML report: self-contained, escaped, and renders cleanly in a real browser."""

from __future__ import annotations

import dataclasses
import os
import re
from html import unescape
from pathlib import Path

import pytest

from keywire import Policy, Suppression, apply_policy
from keywire.reporters import html

from ..htmlcheck import IMG, PAYLOAD, SCRIPT
from ..htmlcheck import parse as _parse
from .chromium import chromium_path, open_page


def test_planted_markup_comes_out_inert(hostile_report):
    page = html.render(hostile_report)
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    assert not re.search(r"<\s*script", page, re.I)
    assert not re.search(r"<\s*img", page, re.I)
    # The payloads did reach the report, as text: in messages, evidence, reasons and details.
    text = "".join(parsed.text)
    assert text.count(SCRIPT) >= 4
    assert IMG in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img" in page


def test_self_contained_no_fetches_and_strict_csp(hostile_report):
    page = html.render(hostile_report)
    parsed = _parse(page)
    assert not {"link", "script", "iframe", "object", "embed", "img", "base", "form"} & set(
        parsed.tags
    )
    assert "@import" not in page and "url(" not in page
    for name, value in parsed.attrs:
        if name in {"src", "srcset", "data", "action", "poster"}:
            pytest.fail(f"{name}={value!r} would fetch something")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = unescape(csp[1])
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert "<svg" in page  # grade badge and category chart are inline SVG


def test_sections_present(hostile_report):
    report = apply_policy(
        hostile_report,
        Policy(
            suppressions=(
                Suppression(
                    rule_id="KW162",
                    target="https://127.0.0.1:*",
                    reason="cookie is not a session <b>",
                ),
            )
        ),
    )
    page = html.render(report)
    for heading in ("Score by category", "Findings", "Suppressed", "Not tested", "Scan"):
        assert f">{heading}<" in page or f"{heading}</h2>" in page
    assert "cookie is not a session &lt;b&gt;" in page
    assert "KW141" in page and "docs/rules/KW141.md" in page
    assert "<pre><code>" in page  # remediation code
    assert "Incomplete." in page  # the planted check that could not run


def test_no_scan_renders(lab_api):
    from keywire import ScanReport

    api = lab_api()
    report = api.scan()
    empty = dataclasses.replace(
        report,
        targets=tuple(
            dataclasses.replace(t, scanned=False, error="refused", findings=())
            for t in report.targets
        ),
        score=None,
    )
    page = html.render(empty)
    assert "No target could be scanned" in page
    assert isinstance(empty, ScanReport)


def _need_chromium(require_tools: bool) -> None:
    if chromium_path() is None:
        if require_tools:
            pytest.fail("chromium is required (KEYWIRE_REQUIRE_TOOLS=1) but not installed")
        pytest.skip("chromium not installed")


@pytest.mark.tools
def test_harness_sees_console_errors_and_fetches(tmp_path, require_tools):
    """The browser check can fail: a page with an error and a fetch is caught."""
    _need_chromium(require_tools)
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>x</p><script>console.error("boom")</script>'
        '<img src="http://127.0.0.1:9/pixel.png"></body></html>'
    )
    run = open_page(page)
    assert run.loaded
    assert any("boom" in e for e in run.errors)
    assert "http://127.0.0.1:9/pixel.png" in run.requests


@pytest.mark.tools
def test_report_renders_in_chromium_without_errors(hostile_report, tmp_path, require_tools):
    _need_chromium(require_tools)
    path = tmp_path / "report.html"
    path.write_text(html.render(hostile_report), encoding="utf-8")
    run = open_page(path, screenshot=True)
    assert run.loaded
    assert run.errors == []
    assert run.requests == [path.resolve().as_uri()]  # nothing fetched but the file itself
    assert SCRIPT in run.text  # shown as text, not run
    assert run.screenshot.startswith(b"\x89PNG")
    if os.environ.get("KEYWIRE_SCREENSHOT"):
        Path(os.environ["KEYWIRE_SCREENSHOT"]).write_bytes(run.screenshot)


def test_payload_constant_is_hostile():
    assert "<script>" in PAYLOAD and "onerror" in PAYLOAD
