"""The console report fits the terminal: wrapped between words under each finding, code never
wrapped, cropped or padded (issue 10, item 18)."""

from __future__ import annotations

import re

import pytest

from keywire import ScanOptions
from keywire.cli import main
from keywire.reporters import console
from keywire.rules import RULES

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def demo():
    from keywire.demo import run_demo

    report, labels = run_demo(ScanOptions(timeout=5, scan_timeout=60))
    assert any(RULES[f.rule_id].flask_fix for f in report.findings)
    return report, labels


def _snippets(report) -> list[list[str]]:
    shown = {f.rule_id for f in report.active_findings}
    return [
        RULES[rule_id].flask_fix.rstrip().splitlines()
        for rule_id in sorted(shown)
        if RULES[rule_id].flask_fix
    ]


def _code_line_numbers(lines: list[str], report) -> set[int]:
    """Where each Flask snippet sits: its lines must follow each other, whole and unpadded."""
    found: set[int] = set()
    for snippet in _snippets(report):
        starts = [i for i, line in enumerate(lines) if line.rstrip() == "    " + snippet[0]]
        assert starts, f"snippet missing: {snippet[0]!r}"
        for start in starts:
            block = lines[start : start + len(snippet)]
            assert [line.rstrip() for line in block] == [("    " + s).rstrip() for s in snippet], (
                "a code block was wrapped, cropped or double-spaced"
            )
            assert all(line == line.rstrip() or not line.strip() for line in block), "padded"
            found.update(range(start, start + len(snippet)))
    return found


def _words(text: str) -> str:
    return " ".join(text.split())


def _check(text: str, report, width: int) -> None:
    lines = text.splitlines()
    code = _code_line_numbers(lines, report)
    for number, line in enumerate(lines):
        if number not in code:
            assert len(line) <= width, f"line {number} is {len(line)} > {width}: {line!r}"
    flowing = _words(text)
    for finding in report.findings:
        # Each message reads whole once wrapped: no word was broken in two.
        assert _words(console.visible(finding.message)) in flowing


@pytest.mark.parametrize("width", [80, 120])
def test_plain_report_fits_the_width(demo, width):
    report, labels = demo
    text = console.render_plain(report, labels=labels, width=width)
    _check(text, report, width)
    longest = max(len(line) for line in text.splitlines())
    assert longest > 80 if width == 120 else True  # the room is used


@pytest.mark.parametrize("width", [80, 120])
def test_rich_report_fits_the_width(demo, width):
    report, labels = demo
    text = SGR.sub("", console.render_rich(report, labels=labels, width=width))
    _check(text, report, width)
    # Code keeps its highlighting but is not padded to the width with a background.
    assert not any(line.endswith(" ") and line.startswith("    ") for line in text.splitlines())


def test_message_lines_hang_under_their_finding(demo):
    report, labels = demo
    lines = console.render_plain(report, labels=labels, width=80).splitlines()
    head = next(i for i, line in enumerate(lines) if "KW101" in line and "CRITICAL" in line)
    message = lines[head + 1 : head + 4]
    assert all(line.startswith(" " * 11) and line[11] != " " for line in message)


def test_report_width_sources():
    assert console.report_width(terminal=False, environ={}) == 100
    assert console.report_width(terminal=False, environ={"COLUMNS": "80"}) == 80
    assert console.report_width(terminal=True, environ={"COLUMNS": "132"}) == 132
    assert console.report_width(terminal=False, environ={"COLUMNS": "wide"}) == 100
    assert console.report_width(terminal=False, environ={"COLUMNS": "12"}) == console.MIN_WIDTH


@pytest.mark.parametrize(("columns", "width"), [("80", 80), ("120", 120), (None, 100)])
def test_cli_uses_columns_else_100(runner, lab_api, columns, width):
    api = lab_api(refuse_cleartext=False, hsts=None)
    env = {"COLUMNS": columns} if columns else {"COLUMNS": ""}
    result = runner.invoke(
        main,
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--timeout",
            "5",
        ],
        env=env,
    )
    assert "KW101" in result.stdout, result.stderr
    code = {("    " + c).rstrip() for r in RULES.values() for c in r.flask_fix.splitlines()}
    prose = [line for line in result.stdout.splitlines() if line.rstrip() not in code]
    assert max(len(line) for line in prose) <= width
    assert max(len(line) for line in prose) > width - 15  # and the width is used
