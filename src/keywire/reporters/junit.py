"""JUnit XML, for the test views of CI systems: one test case per check family x target.

For each target, every check family that ran there (or was meant to and could not) is one test
case (``classname`` is the target URL, ``name`` the family's name and title), so a CI view lists
a dozen readable lines per target rather than one per rule:

- the family's findings at or above the gate (``--fail-on``; with ``--fail-on-new`` only new
  findings) make the case a ``<failure>`` whose text lists each of them with its rule, evidence
  and fix page;
- a family that could not run (not tested, or not applicable) is ``<skipped>`` with the reason;
- findings below the gate and suppressed findings do not fail the case; they are listed in its
  ``<system-out>``;
- a target that could not be scanned is one ``<skipped>`` case, ``scan``.

Text from the target is made visible (control characters and newlines become escapes, see
:mod:`keywire._display`) so a CI view shows no forged line; the non-characters XML 1.0 cannot carry
become U+FFFD.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from .._display import visible
from .._models import CheckOutcome, Finding, OutcomeStatus, ScanReport, TargetResult
from ..gate import counts_for_gate, describe
from ..registry import REGISTRY, family_of
from ._common import docs_url, gate_of, title_of

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: str) -> str:
    """Target text on one line, safe in XML and visible in a CI view."""
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", visible(value))


def _describe(findings: Iterable[Finding]) -> str:
    lines = []
    for f in findings:
        where = f" ({f.location})" if f.location else ""
        label = ""
        if f.suppression is not None:
            label = f" [suppressed: {f.suppression.reason}]"
        lines.append(
            _clean(
                f"{f.rule_id} {title_of(f.rule_id)} [{f.severity.value}]{label}: {f.message}{where}"
            )
        )
        lines += [f"    {_clean(k)}: {_clean(v)}" for k, v in f.evidence]
        lines.append(f"    fix: {docs_url(f.rule_id)}")
    return "\n".join(lines)


def _cases(target: TargetResult) -> list[tuple[str, str, CheckOutcome | None]]:
    """(name, title, outcome) of every check family to report on ``target``, in report order."""
    outcomes = {o.check: o for o in target.outcomes}
    known = {e.name for e in REGISTRY}
    cases = [(e.name, e.title, outcomes.get(e.name)) for e in REGISTRY if e.name in outcomes]
    # Checks outside the registry (none today) and findings of rules no family lists stay visible.
    cases += [(o.check, o.check, o) for o in target.outcomes if o.check not in known]
    named = {name for name, _, _ in cases}
    for finding in target.findings:
        family = family_of(finding.rule_id) or "other"
        if family not in named:
            cases.append((family, family, None))
            named.add(family)
    return cases


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
    for name, title, outcome in _cases(target) if target.scanned else []:
        findings = [f for f in target.findings if (family_of(f.rule_id) or "other") == name]
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_clean(target.target),
            name=_clean(name if title == name else f"{name}: {title}"),
            time="0",
        )
        counts["tests"] += 1
        failing = [f for f in findings if counts_for_gate(f, gate)]
        if failing:
            worst = max(f.severity for f in failing)
            first = failing[0]
            failure = ET.SubElement(
                case,
                "failure",
                message=_clean(
                    f"{len(failing)} finding(s) at or above the gate, worst {worst.value}: "
                    f"{first.rule_id} {title_of(first.rule_id)}"
                ),
                type=worst.value,
            )
            failure.text = _describe(failing)
            counts["failures"] += 1
        elif outcome is not None and outcome.status is not OutcomeStatus.COMPLETED:
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
