r"""Markdown for pull-request comments (GitHub-flavoured): a summary table, then collapsible details.

Text from the target is first made visible (control characters and newlines become escapes, see
:mod:`keywire._display`), then escaped for both Markdown and HTML, no more than needed to keep it
inert, so the comment stays readable as source too: prose gets HTML entities for ``<>&"'`` and a
backslash before the few characters that start inline markup (the backtick, ``*``, ``[``, ``]``, ``~``,
``|``, ``$``, ``\``, and ``_`` outside a word) and before a block marker at its start (``#``,
``-``, ``1.``); URLs, ``www.`` names and e-mail addresses inside prose become code spans, which
GitHub neither links nor renders (``http://a.test/`` rather than ``http\:\/\/a.test\/``);
evidence goes in code spans or fenced blocks, whose content is literal; ``<summary>`` lines are
raw HTML and get HTML escaping. The comment is kept under GitHub's 65,536-character limit by dropping details past :data:`MAX_CHARS`.
"""

from __future__ import annotations

import html
import re

from .._display import visible, visible_block
from .._models import Finding, ScanReport, TargetResult
from ..compliance import mappings_for
from ..gate import describe
from ._common import (
    by_severity,
    cwe_labels,
    docs_url,
    gate_of,
    gate_result,
    not_run,
    requirement_groups,
    rule_of,
    severity_counts,
    status_labels,
    title_of,
)

MAX_CHARS = 60_000
_INLINE = set("\\`*[]~|$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
# What GitHub turns into a link by itself: scheme URLs, www. names, e-mail addresses.
_LINKABLE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]{0,31}://|www\.)[^\s<>`]+"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_BLOCK_START = re.compile(r"[#+=-]|\d{1,9}[.)]")


def _prose(value: str) -> str:
    out = []
    for i, char in enumerate(value):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _INLINE:
            out.append("\\" + char)
        elif char == "_" and not (
            0 < i < len(value) - 1 and value[i - 1].isalnum() and value[i + 1].isalnum()
        ):
            out.append("\\_")  # intraword underscores never emphasise
        else:
            out.append(char)
    return "".join(out)


def text(value: str) -> str:
    """Escape target text for Markdown prose (one line).

    >>> text("http://a.test/v1 answered 401 *over* cleartext")
    '`http://a.test/v1` answered 401 \\\\*over\\\\* cleartext'
    """
    value = visible(value)
    parts, position = [], 0
    for match in _LINKABLE.finditer(value):
        parts += [_prose(value[position : match.start()]), code(match.group())]
        position = match.end()
    parts.append(_prose(value[position:]))
    out = "".join(parts)
    start = _BLOCK_START.match(out)
    if start:  # "# x", "- x", "1. x" at the start of a line would open a block
        end = start.end()
        out = out[: end - 1] + "\\" + out[end - 1 :]
    return out


def code(value: str) -> str:
    """A code span holding ``value`` literally, safe inside a table cell."""
    value = visible(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def fenced(value: str, language: str = "") -> list[str]:
    """A fenced code block holding ``value`` literally."""
    value = visible_block(value)
    longest = max((len(run) for run in re.findall(r"`{3,}|~{3,}", value)), default=2)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *value.splitlines(), fence]


def attr_html(value: str) -> str:
    """Escape for raw HTML lines (``<summary>``)."""
    return html.escape(visible(value), quote=True)


def _finding_details(finding: Finding) -> list[str]:
    rule = rule_of(finding)
    labels = "".join(f" [{label}]" for label in status_labels(finding))
    where = f" · {attr_html(finding.location)}" if finding.location else ""
    lines = [
        "<details>",
        f"<summary><b>{finding.severity.value.upper()}</b> {finding.rule_id} "
        f"{attr_html(title_of(finding.rule_id))}{where}{labels}</summary>",
        "",
        text(finding.message),
        "",
    ]
    if finding.suppression is not None:
        s = finding.suppression
        until = f" (until {s.expires})" if s.expires else ""
        lines += [f"*Suppressed* ({text(s.source)}): {text(s.reason)}{until}", ""]
    if finding.evidence:
        lines += ["| Evidence | |", "|---|---|"]
        lines += [f"| {text(k)} | {code(v)} |" for k, v in finding.evidence]
        lines.append("")
    if rule is not None:
        lines += [f"**Fix:** {text(rule.remediation)}", ""]
        if rule.flask_fix:
            lines += [*fenced(rule.flask_fix.rstrip(), "python"), ""]
    refs = ", ".join(
        [
            *cwe_labels(finding.rule_id),
            *(m.requirement.label for m in mappings_for(finding.rule_id)),
        ]
    )
    lines += [
        f"{refs} · [{finding.rule_id} documentation]({docs_url(finding.rule_id)})",
        "",
        "</details>",
    ]
    return lines


def _target_block(target: TargetResult) -> list[str]:
    grade = f"grade {target.score.grade} ({target.score.score})" if target.score else "not scanned"
    n = len(target.findings)
    lines = [
        "<details>",
        f"<summary><code>{attr_html(target.target)}</code>: {grade}, {n} finding{'s' if n != 1 else ''}</summary>",
        "",
    ]
    if not target.scanned:
        lines += [f"Not scanned: {text(target.error)}", ""]
    for _severity, findings in by_severity(target.findings):
        for finding in findings:
            lines += _finding_details(finding)
    lines += ["", "</details>", ""]
    return lines


def _by_requirement(report: ScanReport, framework: str | None) -> list[str]:
    grouped = requirement_groups(report, framework)
    if grouped is None:
        return []
    lines = [f"### By {grouped.title} requirement", ""]
    if not grouped.groups:
        lines += [f"No finding maps to {grouped.title}.", ""]
    for requirement, findings in grouped.groups:
        lines.append(f"- **{requirement.id}** {text(requirement.title)}")
        lines += [
            f"  - {f.severity.value.upper()} {f.rule_id} {text(title_of(f.rule_id))} on {code(f.target)}"
            + (f" ({text(f.location)})" if f.location else "")
            for f in findings
        ]
    if grouped.unmapped:
        ids = ", ".join(sorted({f.rule_id for f in grouped.unmapped}))
        lines.append(f"- *Not mapped to {grouped.title}:* {len(grouped.unmapped)} ({ids})")
    return [*lines, ""]


def render(report: ScanReport, *, framework: str | None = None) -> str:
    """The report as a GitHub-flavoured Markdown comment (``framework``: see ``--framework``)."""
    verdict = gate_result(report)
    gate = describe(gate_of(report))
    head = "keywire"
    if report.score is not None:
        head += f": grade {report.score.grade} ({report.score.score}/100)"
    else:
        head += ": nothing could be scanned"
    out = [f"## {head}", ""]
    out.append(
        f"Gate ({gate}): **{'passed' if verdict.passed else 'failed'}**"
        + "".join(f"; {text(r)}" for r in verdict.reasons)
    )
    out.append("")
    if not report.complete:
        out += ["> **Incomplete:** some targets or checks could not be tested (see below).", ""]
    for notice in report.notices:
        out += [f"> **Note:** {text(notice)}", ""]

    counts = severity_counts(report.active_findings)
    header = [s.value for s in counts] + ["suppressed"]
    row = [str(n) for n in counts.values()]
    row.append(str(len(report.findings) - len(report.active_findings)))
    if report.baseline is not None:
        states = [f.baseline.value for f in report.findings if f.baseline]
        header += ["new", "unchanged", "fixed"]
        row += [
            str(states.count("new")),
            str(states.count("unchanged")),
            str(len(report.baseline.fixed)),
        ]
    out += [
        "| " + " | ".join(header) + " |",
        "|" + "---:|" * len(header),
        "| " + " | ".join(row) + " |",
        "",
    ]

    out += ["| Target | Grade | Score | Findings |", "|---|---|---:|---:|"]
    for target in report.targets:
        grade = target.score.grade if target.score else "not scanned"
        score = str(target.score.score) if target.score else "-"
        out.append(f"| {code(target.target)} | {grade} | {score} | {len(target.findings)} |")
    out.append("")
    if report.score is not None and report.score.categories:
        cats = " · ".join(
            f"{c.category.title} {c.grade} ({c.score})" for c in report.score.categories
        )
        out += [cats, ""]

    out += _by_requirement(report, framework)
    body: list[str] = []
    for target in report.targets:
        body += _target_block(target)
    if report.baseline is not None and report.baseline.fixed:
        body += [
            "<details>",
            f"<summary>Fixed since the baseline: {len(report.baseline.fixed)}</summary>",
            "",
        ]
        body += [
            f"- {f.rule_id} {text(title_of(f.rule_id))} on {code(f.target)}"
            for f in report.baseline.fixed
        ]
        body += ["", "</details>", ""]
    missing = not_run(report)
    if missing:
        body += ["<details>", f"<summary>Not tested: {len(missing)}</summary>", ""]
        body += ["| Target | Check | Status | Why |", "|---|---|---|---|"]
        body += [
            f"| {code(m.target)} | {text(m.check) or '-'} | {m.status} | {text(m.reason)} |"
            for m in missing
        ]
        body += ["", "</details>", ""]

    document = "\n".join(out)
    room = MAX_CHARS - len(document) - 200
    kept: list[str] = []
    used = 0
    for line in body:
        if used + len(line) + 1 > room:
            kept += [
                "",
                "*The rest of the details was left out to fit a comment; see the full report.*",
            ]
            if kept.count("<details>") > kept.count("</details>"):
                kept += ["</details>"] * (kept.count("<details>") - kept.count("</details>"))
            break
        kept.append(line)
        used += len(line) + 1
    return document + "\n" + "\n".join(kept).rstrip() + "\n"
