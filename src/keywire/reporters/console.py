"""The console report: rich colours and tables on a terminal, plain text everywhere else.

Everything that came from the target (messages, evidence, URLs, spec labels) is made visible
(:func:`keywire._display.visible`: control characters, newlines included, become escapes) and goes
through ``rich.text.Text`` or is printed as plain text, never as rich markup, so a hostile server
can neither style, hide nor forge a line of the report.
This module is imported by the CLI only: the library itself never imports rich.
"""

from __future__ import annotations

import io
import os
import shutil
import textwrap
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from .._display import visible
from .._models import Finding, OutcomeStatus, ScanReport, Severity, TargetResult
from ..gate import incompleteness
from ..rules import RULES
from ._common import requirement_groups, status_labels, title_of

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_GRADE_STYLE = {"A+": "bold green", "A": "bold green", "A-": "green", "B": "yellow", "C": "yellow"}

DEFAULT_WIDTH = 100
"""Columns when the output is not a terminal and ``COLUMNS`` is not set."""
MIN_WIDTH = 40


def report_width(*, terminal: bool, environ: Mapping[str, str] | None = None) -> int:
    """How wide to draw the report: ``COLUMNS`` if set, else the terminal's width when writing
    to one, else :data:`DEFAULT_WIDTH`; never under :data:`MIN_WIDTH`."""
    environ = os.environ if environ is None else environ
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    if terminal:
        return max(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, MIN_WIDTH)
    return DEFAULT_WIDTH


def _wrap(text: str, width: int, first: str, rest: str | None = None) -> list[str]:
    """``text`` wrapped at ``width`` between words (a word longer than a line stays whole, so a
    URL or a fingerprint is never broken), first line indented by ``first``, the others by
    ``rest`` (default: as much as ``first``)."""
    rest = " " * len(first) if rest is None else rest
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _clean(text: str) -> str:
    """Target text on one line, its control characters (newlines, ESC …) shown as escapes."""
    return visible(text)


def _headline(report: ScanReport) -> str:
    n = len(report.targets)
    return f"keywire {report.tool_version}: {n} target{'s' if n != 1 else ''} in {report.duration_s:.2f} s"


def _not_run(target: TargetResult) -> list[str]:
    return [
        f"{o.check}: {'not tested' if o.status is OutcomeStatus.ERROR else 'skipped'}: {o.reason}"
        for o in target.outcomes
        if o.status is not OutcomeStatus.COMPLETED
    ]


def _target_line(target: TargetResult) -> str:
    if target.score is None:
        return _clean(target.target)
    return f"{_clean(target.target)}  (grade {target.score.grade}, score {target.score.score})"


def _label_lines(label: str | Sequence[str]) -> list[str]:
    """A target's label as lines: a label is one line of text, or a sequence of lines."""
    return [label] if isinstance(label, str) else list(label)


def render_plain(
    report: ScanReport,
    *,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    width: int = DEFAULT_WIDTH,
    framework: str | None = None,
) -> str:
    """The report as plain text (no colour, no box drawing), for logs and pipes.

    Text is wrapped at ``width`` columns, each message under its finding; code (the Flask fixes)
    is never wrapped: a code line longer than ``width`` stays one line.
    """
    out: list[str] = [_headline(report), ""]
    if report.score is None:
        out.append("No target could be scanned.")
    else:
        partial = ", incomplete scan" if not report.complete else ""
        out.append(f"Grade {report.score.grade} (score {report.score.score}/100{partial})")
        for category in report.score.categories:
            out.append(f"  {category.category.title:<18} {category.grade:<3} {category.score:>3}")
        for cap in report.score.caps:
            out.append(f"  {cap}")
    if not report.complete:
        out.append(
            f"INCOMPLETE: {incompleteness(report)} (see below); the grade covers only what "
            "was tested."
        )
    for line in _extras(report):
        out += _wrap(_clean(line), width, "", "  ")
    out += _requirement_lines(report, framework, width)
    for target in report.targets:
        out += ["", *_wrap(_target_line(target), width, "", "  ")]
        if labels and target.target in labels:
            for line in _label_lines(labels[target.target]):
                text = _clean(line)
                lead = " " * (len(text) - len(text.lstrip(" ")))
                out += _wrap(text.lstrip(" "), width, f"  {lead}", f"  {lead}    ")
        if not target.scanned:
            out += _wrap(f"NOT SCANNED: {_clean(target.error)}", width, "  ", "    ")
        if target.scanned and not target.findings:
            out.append("  no findings")
        for finding in target.findings:
            out += _plain_finding(finding, width)
        for line in _not_run(target):
            out += _wrap(_clean(line), width, "  - ", "      ")
    fixes = _fixes(report)
    if fixes:
        out += ["", "How to fix"]
        for rule_id, text, snippet in fixes:
            out += _wrap(f"{rule_id}: {text}", width, "  ", " " * (len(rule_id) + 4))
            if snippet:
                out += [("    " + line).rstrip() for line in snippet.rstrip().splitlines()]
    # Every piece from the target was made visible above; this pass keeps any line keywire missed
    # from carrying a control character (our own code snippets have none).
    return "\n".join(visible(line) for line in out) + "\n"


_MESSAGE_INDENT = " " * 11


def _plain_finding(finding: Finding, width: int = DEFAULT_WIDTH) -> list[str]:
    rule = RULES.get(finding.rule_id)
    title = rule.title if rule else finding.rule_id
    cwe = ", ".join(f"CWE-{n}" for n in rule.cwe) if rule else ""
    tags = "".join(f" ({label})" for label in status_labels(finding))
    head = f"{finding.severity.value.upper():<8} {finding.rule_id} {title} [{cwe}]{tags}"
    lines = _wrap(head, width, "  ", _MESSAGE_INDENT)
    lines += _wrap(_clean(finding.message), width, _MESSAGE_INDENT)
    lines += _evidence_lines(finding, width)
    return lines


def _evidence_lines(finding: Finding, width: int) -> list[str]:
    """Evidence and suppression, one ``key: value`` each, continuation lines indented deeper."""
    pairs = [(_clean(key), _clean(value)) for key, value in finding.evidence]
    if finding.suppression is not None:
        pairs.append(("suppressed", _clean(_suppressed_why(finding))))
    lines: list[str] = []
    for key, value in pairs:
        lines += _wrap(f"{key}: {value}", width, _MESSAGE_INDENT, _MESSAGE_INDENT + "  ")
    return lines


def _suppressed_why(finding: Finding) -> str:
    s = finding.suppression
    if s is None:
        return ""
    until = f", until {s.expires}" if s.expires else ""
    return f"{s.reason} ({s.source or 'configuration'}{until})"


def _extras(report: ScanReport) -> list[str]:
    """Lines about notices, suppressions and the baseline, under the score."""
    lines = [f"Note: {notice}" for notice in report.notices]
    suppressed = len(report.findings) - len(report.active_findings)
    if suppressed:
        lines.append(
            f"{suppressed} suppressed finding(s): shown, not counted in the score or gate."
        )
    if report.baseline is not None:
        states = [f.baseline.value for f in report.findings if f.baseline]
        lines.append(
            f"Baseline {report.baseline.source}: {states.count('new')} new, "
            f"{states.count('unchanged')} unchanged, {len(report.baseline.fixed)} fixed"
            + (
                f", {len(report.baseline.not_retested)} not re-tested"
                if report.baseline.not_retested
                else ""
            )
        )
        for finding in report.baseline.fixed:
            lines.append(
                f"  fixed: {finding.rule_id} {title_of(finding.rule_id)} on {finding.target}"
            )
    return lines


def _requirement_lines(report: ScanReport, framework: str | None, width: int) -> list[str]:
    """``--framework``: the counted findings under each requirement they break."""
    grouped = requirement_groups(report, framework)
    if grouped is None:
        return []
    out = ["", f"By {grouped.title} requirement"]
    if not grouped.groups:
        out.append(f"  no finding maps to {grouped.title}")
    for requirement, findings in grouped.groups:
        out += _wrap(f"{requirement.id} {requirement.title}", width, "  ", "      ")
        for f in findings:
            where = f" ({f.location})" if f.location else ""
            line = f"{f.rule_id} [{f.severity.value}] {title_of(f.rule_id)} on {f.target}{where}"
            line = _clean(line)
            out += _wrap(line, width, "    - ", "        ")
    if grouped.unmapped:
        ids = ", ".join(sorted({f.rule_id for f in grouped.unmapped}))
        out += _wrap(
            f"Not mapped to {grouped.title}: {len(grouped.unmapped)} finding(s) ({ids})",
            width,
            "  ",
            "    ",
        )
    return out


def render(report: ScanReport, *, framework: str | None = None) -> str:
    """The plain-text console report (``render_rich`` is the terminal variant)."""
    return render_plain(report, framework=framework)


def _fixes(report: ScanReport) -> list[tuple[str, str, str]]:
    """(rule ID, remediation, Flask snippet) per rule found; a snippet already shown is not repeated."""
    seen: dict[str, tuple[str, str, str]] = {}
    snippets: dict[str, str] = {}
    for finding in sorted(report.active_findings, key=lambda f: (-f.severity.rank, f.rule_id)):
        rule = RULES.get(finding.rule_id)
        if rule is None or rule.id in seen or finding.severity < Severity.LOW:
            continue
        snippet = rule.flask_fix
        if snippet and snippet in snippets:
            snippet = f"# Flask: as for {snippets[snippet]} above\n"
        elif snippet:
            snippets[snippet] = rule.id
        seen[rule.id] = (rule.id, rule.remediation, snippet)
    return list(seen.values())


def render_rich(
    report: ScanReport,
    *,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    width: int = DEFAULT_WIDTH,
    color: bool = True,
    framework: str | None = None,
) -> str:
    """The report with colours and tables, as a string of terminal output ``width`` columns wide.

    Messages and evidence wrap under their finding between words; code is never wrapped, cropped
    or padded to the width (a longer line is left to the terminal, and copies intact).
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    console.print(Text(_headline(report), style="bold"))
    if report.score is None:
        console.print(Text("No target could be scanned.", style="bold red"))
    else:
        score = report.score
        grade = Text(
            f" {score.grade} ", style=_GRADE_STYLE.get(score.grade, "bold red") + " reverse"
        )
        partial = ", incomplete scan" if not report.complete else ""
        summary = Text.assemble(grade, f"  score {score.score}/100{partial}")
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column("Category")
        table.add_column("Grade")
        table.add_column("Score", justify="right")
        for category in score.categories:
            table.add_row(
                category.category.title,
                Text(category.grade, style=_GRADE_STYLE.get(category.grade, "red")),
                str(category.score),
            )
        console.print(Panel.fit(table, title=summary, title_align="left"))
        for cap in score.caps:
            console.print(Text(f"  {cap}", style="dim"))
    if not report.complete:
        console.print(
            Text(
                f"Incomplete: {incompleteness(report)}; the grade covers only what was tested.",
                style="yellow",
            )
        )
    for extra in _extras(report):
        style = "yellow" if extra.startswith("Note") else ""
        _print_lines(console, _wrap(_clean(extra), width, "", "  "), style)
    requirement_lines = _requirement_lines(report, framework, width)
    if requirement_lines:
        console.print()
        console.print(Text(requirement_lines[1], style="bold"))
        _print_lines(console, requirement_lines[2:], "")
    for target in report.targets:
        console.print()
        _print_lines(console, _wrap(_target_line(target), width, "", "  "), "bold underline")
        if labels and target.target in labels:
            for text in _label_lines(labels[target.target]):
                text = _clean(text)
                lead = " " * (len(text) - len(text.lstrip(" ")))
                wrapped = _wrap(text.lstrip(" "), width, f"  {lead}", f"  {lead}    ")
                _print_lines(console, wrapped, "italic")
        if not target.scanned:
            wrapped = _wrap(f"not scanned: {_clean(target.error)}", width, "  ", "    ")
            _print_lines(console, wrapped, "red")
        elif not target.findings:
            console.print(Text("  no findings", style="green"))
        for finding in target.findings:
            rule = RULES.get(finding.rule_id)
            line = Text("  ")
            line.append(f"{finding.severity.value.upper():<8}", style=_STYLE[finding.severity])
            line.append(f" {finding.rule_id} ", style="bold")
            line.append(rule.title if rule else "")
            tail = Text()
            if rule:
                tail.append(", ".join(f"CWE-{n}" for n in rule.cwe), style="dim")
            for label in status_labels(finding):
                tail.append(f" {label}", style="bold cyan" if label == "new" else "dim")
            if len(line) + 2 + len(tail) > width:  # the CWEs go under the title, not at column 0
                console.print(line, overflow="ignore", crop=False)
                line = Text(_MESSAGE_INDENT)
            elif len(tail):
                line.append("  ")
            console.print(line + tail, no_wrap=True, overflow="ignore", crop=False)
            _print_lines(console, _wrap(_clean(finding.message), width, _MESSAGE_INDENT), "")
            _print_lines(console, _evidence_lines(finding, width), "dim")
        for text in _not_run(target):
            _print_lines(console, _wrap(_clean(text), width, "  - ", "      "), "yellow")
    fixes = _fixes(report)
    if fixes:
        console.print()
        console.print(Text("How to fix", style="bold"))
        for rule_id, remedy, snippet in fixes:
            wrapped = _wrap(f"{rule_id} {remedy}", width, "  ", " " * (len(rule_id) + 3))
            first = Text(wrapped[0])
            first.stylize("bold", 0, len(rule_id) + 2)
            console.print(first, no_wrap=True, overflow="ignore", crop=False)
            _print_lines(console, wrapped[1:], "")
            if snippet:
                _print_code(console, snippet.rstrip())
    return buffer.getvalue()


def _print_lines(console: Console, lines: Sequence[str], style: str) -> None:
    """Lines already wrapped by :func:`_wrap`: rich must neither re-wrap nor crop them."""
    for line in lines:
        console.print(Text(line, style=style), no_wrap=True, overflow="ignore", crop=False)


def _print_code(console: Console, code: str) -> None:
    """Highlighted code, indented by 4, each line whole: never wrapped, cropped or padded."""
    highlighted = Syntax(code, "python", theme="ansi_dark").highlight(code)
    highlighted.rstrip()
    for line in highlighted.split("\n"):
        shown = Text("    ") + line if line.plain.strip() else Text()
        console.print(shown, no_wrap=True, overflow="ignore", crop=False)
