"""SARIF 2.1.0: valid against the official schema, and shaped for GitHub code scanning."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from keywire import CheckOutcome, OutcomeStatus, Policy, Severity, Suppression, apply_policy
from keywire._models import BaselineComparison
from keywire.baseline import compare_baseline, parse_baseline
from keywire.compliance import mappings_for
from keywire.reporters import json as json_reporter
from keywire.reporters import sarif
from keywire.rules import RULES
from labs import raw

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/schemas/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
GITHUB_BANDS = {
    "critical": (9.0, 10.0),
    "high": (7.0, 8.9),
    "medium": (4.0, 6.9),
    "low": (0.1, 3.9),
    "info": (0.0, 0.0),
}


def validate(document: dict) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_schema_rejects_a_broken_log():
    """The validation can fail: a result without a message is not SARIF."""
    with pytest.raises(AssertionError):
        validate(
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
        )


def test_lab_scan_validates(hostile_report):
    document = json.loads(sarif.render(hostile_report))
    validate(document)
    run = document["runs"][0]
    assert run["tool"]["driver"]["name"] == "keywire"
    assert {r["ruleId"] for r in run["results"]} == {f.rule_id for f in hostile_report.findings}


def test_rules_have_help_severity_and_cwe_tags(hostile_report):
    run = json.loads(sarif.render(hostile_report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # Only the rules the run speaks of: here, those that produced results.
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in hostile_report.findings})
    for descriptor in rules:
        rule = RULES[descriptor["id"]]
        assert descriptor["helpUri"] == json_reporter.DOCS_BASE + f"docs/rules/{rule.id}.md"
        assert (ROOT / f"docs/rules/{rule.id}.md").is_file()
        assert rule.remediation in descriptor["help"]["markdown"]
        tags = descriptor["properties"]["tags"]
        assert "security" in tags
        assert {f"external/cwe/cwe-{n}" for n in rule.cwe} <= set(tags)
        mapped = mappings_for(rule.id)
        assert {f"compliance/{m.framework}/{m.requirement.id}" for m in mapped} <= set(tags)
        assert descriptor["properties"]["compliance"] == [m.as_dict() for m in mapped]
        value = descriptor["properties"]["security-severity"]
        assert isinstance(value, str) and re.fullmatch(r"\d+\.\d", value)
        low, high = GITHUB_BANDS[rule.severity.value]
        assert low <= float(value) <= high
    assert any(mappings_for(r["id"]) for r in rules)


def test_results_point_at_rules_and_carry_fingerprints(hostile_report):
    run = json.loads(sarif.render(hostile_report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_fp = {f.fingerprint: f for f in hostile_report.findings}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        fingerprint = result["partialFingerprints"][sarif.FINGERPRINT_KEY]
        finding = by_fp[fingerprint]
        assert result["level"] == sarif.LEVEL[finding.severity]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == sarif.artifact_uri(
            finding.target
        )
        assert location["logicalLocations"][0]["fullyQualifiedName"] == finding.target


def test_declared_rules_are_results_baseline_and_policy(hostile_report):
    fixed = RULES["KW401"].finding(target="https://gone.test/", message="gone")
    report = dataclasses.replace(
        hostile_report,
        policy=Policy(severity={"KW605": Severity.LOW}, skip_rules=("KW170",)),
        baseline=BaselineComparison(source="b.json", fixed=(fixed,)),
    )
    run = json.loads(sarif.render(report))["runs"][0]
    validate({"version": "2.1.0", "runs": [run]})
    ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert set(ids) == {f.rule_id for f in report.findings} | {"KW401", "KW605", "KW170"}
    kw170 = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "KW170")
    assert kw170["defaultConfiguration"]["enabled"] is False


def test_two_targets_are_small_and_messages_name_the_url_once(lab_api):
    first, second = lab_api(hsts=None), lab_api(require_key=False, hsts=None)
    a, b = first.scan(), second.scan()
    report = dataclasses.replace(a, targets=(*a.targets, *b.targets))
    text = sarif.render(report)
    validate(json.loads(text))
    # The whole catalogue (85+ rules with their help) made this 200 KB.
    assert len(text.encode()) < 60_000, len(text.encode())
    for result in json.loads(text)["runs"][0]["results"]:
        target = result["properties"]["target"]
        assert result["message"]["text"].count(target) == 1, result["message"]["text"]


def test_fingerprints_are_stable_between_scans(lab_api):
    api = lab_api(hsts=None, cookies=("sid=1; Path=/",))
    first = json.loads(sarif.render(api.scan()))["runs"][0]["results"]
    second = json.loads(sarif.render(api.scan()))["runs"][0]["results"]

    def prints(results):
        return sorted(r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results)

    assert prints(first) == prints(second)
    assert len(set(prints(first))) == len(first) >= 2


def test_checks_that_could_not_run_are_notifications(hostile_report):
    invocation = json.loads(sarif.render(hostile_report))["runs"][0]["invocations"][0]
    notes = invocation["toolExecutionNotifications"]
    errors = [n for n in notes if n["level"] == "error"]
    assert [n["descriptor"]["id"] for n in errors] == ["hostile"]
    assert "peer said <script>" in errors[0]["message"]["text"]


def test_unscanned_target_is_a_notification():
    from keywire import ScanOptions, scan

    with raw.closed_port() as port:
        report = scan([f"http://127.0.0.1:{port}/"], options=ScanOptions(timeout=2))
    document = json.loads(sarif.render(report))
    validate(document)
    run = document["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is False
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["descriptor"]["id"] == "target-not-scanned"


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1/users?page=2&api_key=x#frag",
        "http://127.0.0.1:8080/",
        "https://[::1]:8443/v1",
        "https://api.example.com:443/a/../b/./c%20d",
        "http://host.test/p:with:colons/<script>",
    ],
)
def test_artifact_uri_is_one_github_accepts(url):
    """Code scanning rejects non-file schemes and relative URIs with a colon in the first segment."""
    uri = sarif.artifact_uri(url)
    parts = urlsplit(uri)
    assert parts.scheme == "" and parts.netloc == "" and not parts.query and not parts.fragment
    assert ":" not in uri.split("/")[0]
    assert ".." not in uri.split("/") and "." not in uri.split("/")
    assert not uri.startswith("/")
    assert re.fullmatch(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]+", uri), uri


def test_suppressions_baseline_and_overrides(hostile_report):
    report = apply_policy(
        hostile_report,
        Policy(
            severity={"KW160": Severity.HIGH},
            suppressions=(Suppression(rule_id="KW162", target="*", reason="accepted: SEC-1"),),
        ),
    )
    previous = json.loads(json_reporter.render(report))
    previous["targets"][0]["findings"] = [
        f for f in previous["targets"][0]["findings"] if f["rule_id"] != "KW141"
    ]
    report = compare_baseline(report, parse_baseline(previous, source="previous.json"))
    document = json.loads(sarif.render(report))
    validate(document)
    run = document["runs"][0]
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["KW162"]["suppressions"][0]["justification"] == "accepted: SEC-1"
    assert results["KW162"]["suppressions"][0]["status"] == "accepted"
    assert results["KW141"]["baselineState"] == "new"
    assert results["KW160"]["baselineState"] == "unchanged"
    assert results["KW160"]["level"] == "error"
    kw160 = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "KW160")
    assert kw160["properties"]["security-severity"] == sarif.SECURITY_SEVERITY[Severity.HIGH]


def test_notices_are_configuration_notifications(hostile_report):
    report = dataclasses.replace(hostile_report, notices=("suppression expired",))
    invocation = json.loads(sarif.render(report))["runs"][0]["invocations"][0]
    assert (
        invocation["toolConfigurationNotifications"][0]["message"]["text"] == "suppression expired"
    )


def test_outcome_skipped_is_a_note(hostile_report):
    target = hostile_report.targets[0]
    skipped = CheckOutcome(
        check="x", target=target.target, status=OutcomeStatus.SKIPPED, reason="n/a"
    )
    report = dataclasses.replace(
        hostile_report, targets=(dataclasses.replace(target, outcomes=(skipped,)),)
    )
    notes = json.loads(sarif.render(report))["runs"][0]["invocations"][0][
        "toolExecutionNotifications"
    ]
    assert notes == [n for n in notes if n["level"] == "note"] and notes


def test_schema_copy_keeps_the_official_constraints():
    """The OASIS schema constrains the root and several objects; a stripped copy validates anything.

    (The copy this project was first given lacked the root ``required``/``properties`` and five
    ``anyOf`` clauses; they are restored from the published schema.)
    """
    assert SCHEMA["required"] == ["version", "runs"]
    assert SCHEMA["additionalProperties"] is False
    definitions = SCHEMA["definitions"]
    for name in ("message", "physicalLocation", "region", "reportingDescriptorReference"):
        assert "anyOf" in definitions[name], name
    with pytest.raises(AssertionError):
        validate({"version": "2.2.0", "runs": []})
    with pytest.raises(AssertionError):
        validate(
            {
                "version": "2.1.0",
                "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {}}]}],
            }
        )
