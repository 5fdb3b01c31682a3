"""JUnit XML, for the test views of CI systems: one test case per rule x target.

For each target, every rule of every check that ran there is a test case (``classname`` is the
target URL, ``name`` the rule ID and title):

- a finding at or above the gate (``--fail-on``; with ``--fail-on-new`` only new findings) is a
  ``<failure>``;
- findings below the gate pass, listed in ``<system-out>``;
- suppressed findings, checks that could not run and targets that could not be scanned are
  ``<skipped>`` with the reason: they are neither passes nor failures of the gate.

Text from the target is made visible (control characters and newlines become escapes, see
:mod:`keywire._display`) so a CI view shows no forged line; the non-characters XML 1.0 cannot carry
become U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from .._display import visible
from .._models import Finding, OutcomeStatus, ScanReport, TargetResult
from ..checks import REGISTRY, entry_of
from ..gate import counts_for_gate, describe
from ..rules import RULES
from ._common import docs_url, gate_of, title_of

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: str) -> str:
    """Target text on one line, safe in XML and visible in a CI view."""
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", visible(value))


def _describe(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(
            _clean(f"[{f.severity.value}] {f.message}" + (f" ({f.location})" if f.location else ""))
        )
        lines += [f"    {_clean(k)}: {_clean(v)}" for k, v in f.evidence]
    return "\n".join(lines)


def _rules_for(target: TargetResult) -> list[str]:
    ran = {o.check: o for o in target.outcomes}
    ids = [r for e in REGISTRY if e.name in ran for r in e.rules if not RULES[r].retired]
    ids += [f.rule_id for f in target.findings if f.rule_id not in ids]
    return ids


def _suite(report: ScanReport, target: TargetResult) -> ET.Element:
    gate = gate_of(report)
    suite = ET.Element(
        "testsuite", name=_clean(target.target), timestamp=report.started_at.isoformat()
    )
    props = ET.SubElement(suite, "properties")
    if target.score is not None:
        ET.SubElement(props, "property", name="grade", value=target.score.grade)
        ET.SubElement(props, "property", name="score", value=str(target.score.score))
    ET.SubElement(props, "property", name="gate", value=describe(gate))
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    if not target.scanned:
        case = ET.SubElement(
            suite, "testcase", classname=_clean(target.target), name="scan", time="0"
        )
        ET.SubElement(case, "skipped", message=_clean(f"not scanned: {target.error}"))
        counts["tests"] += 1
        counts["skipped"] += 1
    outcomes = {o.check: o for o in target.outcomes}
    for rule_id in _rules_for(target) if target.scanned else []:
        findings = [f for f in target.findings if f.rule_id == rule_id]
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_clean(target.target),
            name=f"{rule_id} {title_of(rule_id)}",
            time="0",
        )
        counts["tests"] += 1
        failing = [f for f in findings if counts_for_gate(f, gate)]
        entry = entry_of(rule_id)
        outcome = outcomes.get(entry.name) if entry is not None else None
        if failing:
            worst = max(f.severity for f in failing)
            failure = ET.SubElement(
                case,
                "failure",
                message=_clean(
                    f"{len(failing)} finding(s), worst {worst.value}: {failing[0].message}"
                ),
                type=worst.value,
            )
            failure.text = _describe(failing) + f"\n\nFix: see {docs_url(rule_id)}"
            counts["failures"] += 1
        elif findings and all(f.suppression is not None for f in findings):
            reasons = "; ".join(sorted({f.suppression.reason for f in findings if f.suppression}))
            ET.SubElement(case, "skipped", message=_clean(f"suppressed: {reasons}"))
            counts["skipped"] += 1
        elif not findings and outcome is not None and outcome.status is not OutcomeStatus.COMPLETED:
            label = "not tested" if outcome.status is OutcomeStatus.ERROR else "not applicable"
            ET.SubElement(case, "skipped", message=_clean(f"{label}: {outcome.reason}"))
            counts["skipped"] += 1
        others = [f for f in findings if f not in failing]
        if others:
            ET.SubElement(case, "system-out").text = _describe(others)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    suite.set("time", f"{target.duration_s:.3f}")
    return suite


def render(report: ScanReport) -> str:
    """The report as a JUnit XML document."""
    root = ET.Element("testsuites", name="keywire")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for target in report.targets:
        suite = _suite(report, target)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    root.set("time", f"{report.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
