r"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.

What goes where:

- the rules the run speaks of are ``reportingDescriptor``\ s: those that produced a result
  (suppressed ones included), those of the baseline's fixed and not re-tested findings, and those
  the policy names (severity overrides; skipped rules are declared with ``enabled: false``).
  Declaring the whole catalogue made a two-target log 200 KB; code scanning closes an alert when
  its result is absent from the next analysis of the same category, and needs no descriptor for
  that. Each descriptor has ``helpUri`` to its doc page, Markdown ``help``,
  ``properties.security-severity`` (GitHub's numeric convention), the tags ``security``,
  ``external/cwe/cwe-N`` and ``compliance/<framework>/<requirement>`` (for example
  ``compliance/pci-dss/4.2.1``, see :mod:`keywire.compliance`), and ``properties.compliance``
  with each mapping's requirement title, reason and citation;
- each finding is a ``result`` whose ``partialFingerprints`` carries the finding's fingerprint, so
  alerts stay matched across scans; suppressed findings carry ``suppressions``, and with a
  baseline each result has ``baselineState``;
- checks that could not run, and targets that could not be scanned, are
  ``invocations[0].toolExecutionNotifications``; notices (expired suppressions …) are
  ``toolConfigurationNotifications``.

**The location of a URL target.** Code scanning only accepts artifact locations that are paths in
the repository: an ``https://`` URI is rejected ("SARIF URI scheme did not match the checkout URI
scheme file"), and a relative URI whose first segment holds a colon (``127.0.0.1:8443/…``) does
not parse. So each result's physical location is a repository-relative pseudo-path made from the
URL, ``<host>[_<port>]/<path>`` (for example ``api.example.com/v1/users`` or
``127.0.0.1_8443/v1/resource``), with ``region.startLine`` 1, no query string and no fragment; the
full URL is in ``logicalLocations`` (kind ``resource``), in ``properties.target`` and in the
result's message (appended only when the check's message does not already name it, so a message
says it once). See docs/reports.md.

**Text from the target.** Message texts and justifications are read by people in a viewer, so the
target's text in them is made visible (control characters and newlines become escapes, see
:mod:`keywire._display`); ``properties`` keep the data as captured, JSON-escaped, like the JSON
report.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from .._display import json_inert, visible
from .._models import BaselineState, Finding, OutcomeStatus, Rule, ScanReport, Severity
from ..compliance import mappings_for, tags_for
from ..rules import RULES
from ._common import DOCS_BASE, docs_url

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "keywireFinding/v1"

SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.5",
    Severity.INFO: "0.0",
}
"""GitHub maps security-severity to its levels: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
0.1-3.9 low. Each keywire severity sits inside its band."""

LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def artifact_uri(target: str) -> str:
    """The repository-relative pseudo-path standing for a URL target (see the module docs).

    >>> artifact_uri("https://api.example.com/v1/users?page=2")
    'api.example.com/v1/users'
    >>> artifact_uri("http://127.0.0.1:8080/")
    '127.0.0.1_8080/'
    >>> artifact_uri("https://[::1]:8443/v1")
    'ipv6-0-0-0-0-0-0-0-1_8443/v1'
    """
    parts = urlsplit(target)
    host = (parts.hostname or "unknown-host").lower()
    if ":" in host:  # IPv6: no colons, no brackets in a path segment
        try:
            groups = ipaddress.IPv6Address(host.split("%")[0]).exploded.split(":")
            host = "ipv6-" + "-".join(format(int(g, 16), "x") for g in groups)
        except ValueError:
            host = "ipv6-" + re.sub(r"[^A-Za-z0-9.]", "-", host)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    segment = host if port in (None, default) else f"{host}_{port}"
    path = re.sub(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]", "_", parts.path or "/")
    path = "/".join("_" if seg in (".", "..") else seg for seg in path.split("/"))
    return segment + (path if path.startswith("/") else "/" + path)


def _rule_name(rule: Rule) -> str:
    words = re.findall(r"[A-Za-z0-9]+", rule.title)
    return "".join(w[:1].upper() + w[1:] for w in words) or rule.id


def _help_markdown(rule: Rule) -> str:
    cwe = ", ".join(f"[CWE-{n}](https://cwe.mitre.org/data/definitions/{n}.html)" for n in rule.cwe)
    lines = [
        f"**{rule.id}: {rule.title}** ({rule.severity.value}; {cwe}; OWASP API Top 10 {rule.owasp_api})",
        "",
        rule.description,
        "",
        "**How to fix:** " + rule.remediation,
    ]
    if rule.flask_fix:
        lines += ["", "In Flask:", "", "```python", rule.flask_fix.rstrip(), "```"]
    mapped = mappings_for(rule.id)
    if mapped:
        lines += ["", "Compliance:", ""]
        lines += [f"- {m.requirement.label}: {m.requirement.title} ({m.why})" for m in mapped]
    lines += ["", "References:", ""] + [f"- <{ref}>" for ref in rule.references]
    lines += ["", f"[Rule documentation]({docs_url(rule.id)})"]
    return "\n".join(lines)


def _descriptor(rule: Rule, severity: Severity, *, enabled: bool = True) -> dict[str, Any]:
    tags = [
        "security",
        *(f"external/cwe/cwe-{n}" for n in rule.cwe),
        rule.category.value,
        *tags_for(rule.id),
    ]
    return {
        "id": rule.id,
        "name": _rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "helpUri": docs_url(rule.id),
        "help": {"text": rule.remediation, "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[severity], "enabled": enabled and not rule.retired},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": "high",
            "problem.severity": {"error": "error", "warning": "warning"}.get(
                LEVEL[severity], "recommendation"
            ),
            "keywire-severity": severity.value,
            "owasp-api": rule.owasp_api,
            "compliance": [m.as_dict() for m in mappings_for(rule.id)],
        },
    }


def message_text(finding: Finding) -> str:
    """The finding's message, with its location and target appended unless it names them.

    >>> from keywire.rules import get_rule
    >>> f = get_rule("KW101").finding(target="http://a.test/v1", message="http://a.test/v1 answered")
    >>> message_text(f)
    'http://a.test/v1 answered'
    >>> message_text(get_rule("KW160").finding(target="https://a.test/", message="No Secure", location="sid"))
    'No Secure (sid) [https://a.test/]'
    """
    text = finding.message
    if finding.location and finding.location not in text:
        text += f" ({finding.location})"
    if finding.target not in text:
        text += f" [{finding.target}]"
    return visible(text)


def declared_rules(report: ScanReport) -> list[str]:
    """The rule IDs a SARIF log of ``report`` describes (see the module docstring), sorted."""
    ids = {f.rule_id for f in report.findings}
    if report.baseline is not None:
        ids |= {f.rule_id for f in (*report.baseline.fixed, *report.baseline.not_retested)}
    if report.policy is not None:
        ids |= set(report.policy.severity) | set(report.policy.skip_rules)
    return sorted(i for i in ids if i in RULES)


def _result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": LEVEL[finding.severity],
        "message": {"text": message_text(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(finding.target)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{"fullyQualifiedName": finding.target, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "target": finding.target,
            "severity": finding.severity.value,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "confidence": finding.confidence.value,
            "evidence": dict(finding.evidence),
            "location": finding.location,
        },
    }
    if finding.rule_id in index:
        result["ruleIndex"] = index[finding.rule_id]
    if finding.baseline in (BaselineState.NEW, BaselineState.UNCHANGED):
        result["baselineState"] = finding.baseline.value
    if finding.suppression is not None:
        s = finding.suppression
        justification = s.reason + (f" (until {s.expires})" if s.expires else "")
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": visible(justification),
                "properties": {"source": s.source, "target": s.target},
            }
        ]
    return result


def _notifications(report: ScanReport) -> list[dict[str, Any]]:
    out = []
    for target in report.targets:
        where = [
            {
                "physicalLocation": {"artifactLocation": {"uri": artifact_uri(target.target)}},
                "logicalLocations": [{"fullyQualifiedName": target.target, "kind": "resource"}],
            }
        ]
        if not target.scanned:
            out.append(
                {
                    "level": "error",
                    "message": {
                        "text": visible(f"{target.target} could not be scanned: {target.error}")
                    },
                    "descriptor": {"id": "target-not-scanned"},
                    "locations": where,
                }
            )
            continue
        for outcome in target.outcomes:
            if outcome.status is OutcomeStatus.COMPLETED:
                continue
            tested = outcome.status is OutcomeStatus.ERROR
            out.append(
                {
                    "level": "error" if tested else "note",
                    "message": {
                        "text": visible(
                            f"{outcome.check} {'not tested' if tested else 'not applicable'} "
                            f"on {target.target}: {outcome.reason}"
                        )
                    },
                    "descriptor": {"id": outcome.check},
                    "locations": where,
                }
            )
    return out


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_sarif(report: ScanReport) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (a dict ready for ``json.dumps``)."""
    overrides = report.policy.severity if report.policy else {}
    skipped = set(report.policy.skip_rules) if report.policy else set()
    rules = [RULES[rule_id] for rule_id in declared_rules(report)]
    index = {rule.id: i for i, rule in enumerate(rules)}
    descriptors = [
        _descriptor(r, overrides.get(r.id, r.severity), enabled=r.id not in skipped) for r in rules
    ]
    notifications = _notifications(report)
    checks = sorted({n["descriptor"]["id"] for n in notifications} - {"target-not-scanned"})
    end = report.started_at.timestamp() + report.duration_s
    invocation: dict[str, Any] = {
        "executionSuccessful": report.scanned_any,
        "startTimeUtc": _utc(report.started_at),
        "endTimeUtc": _utc(datetime.fromtimestamp(end, timezone.utc)),
        "toolExecutionNotifications": notifications,
        "toolConfigurationNotifications": [
            {"level": "warning", "message": {"text": visible(notice)}} for notice in report.notices
        ],
        "properties": {"complete": report.complete},
    }
    properties: dict[str, Any] = {
        "complete": report.complete,
        "score": report.score.score if report.score else None,
        "grade": report.score.grade if report.score else None,
        "targets": [t.target for t in report.targets],
    }
    if report.baseline is not None:
        properties["baseline"] = {
            "source": report.baseline.source,
            "fixed": [f.fingerprint for f in report.baseline.fixed],
            "not_retested": [f.fingerprint for f in report.baseline.not_retested],
        }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keywire",
                        "version": report.tool_version,
                        "informationUri": DOCS_BASE.removesuffix("blob/main/"),
                        "rules": descriptors,
                        "notifications": [
                            *(
                                [
                                    {
                                        "id": "target-not-scanned",
                                        "shortDescription": {
                                            "text": "A target could not be scanned"
                                        },
                                    }
                                ]
                                if not all(t.scanned for t in report.targets)
                                else []
                            ),
                            *(
                                {"id": check, "shortDescription": {"text": f"The {check} check"}}
                                for check in checks
                            ),
                        ],
                    }
                },
                "invocations": [invocation],
                "results": [_result(f, index) for f in report.findings],
                "columnKind": "unicodeCodePoints",
                "properties": properties,
            }
        ],
    }


def render(report: ScanReport) -> str:
    """The report as a SARIF 2.1.0 JSON document."""
    return json_inert(json.dumps(to_sarif(report), indent=2, ensure_ascii=False)) + "\n"
