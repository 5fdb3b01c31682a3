"""JUnit (read back with junitparser), Markdown (rendered with markdown-it) and JSON (our schema)."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import junitparser
from markdown_it import MarkdownIt

from keywire import Gate, Policy, Severity, Suppression, apply_policy
from keywire.baseline import compare_baseline, parse_baseline
from keywire.checks import FAMILIES
from keywire.registry import REGISTRY
from keywire.reporters import json as json_reporter
from keywire.reporters import junit, markdown

from ..htmlcheck import SCRIPT


def _junit(report, tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(junit.render(report), encoding="utf-8")
    return junitparser.JUnitXml.fromfile(str(path))


def _family_cases(xml):
    return {c.name.split(":")[0]: c for c in next(iter(xml))}


def test_junit_one_case_per_family_and_target_failures_at_gate(hostile_report, tmp_path):
    report = dataclasses.replace(hostile_report, gate=Gate(fail_on=Severity.MEDIUM))
    xml = _junit(report, tmp_path)
    suites = list(xml)
    assert len(suites) == 1
    cases = list(suites[0])
    target = report.targets[0]
    families = [f.name for f in FAMILIES if f.name in {o.check for o in target.outcomes}]
    # One case per family that ran, then checks outside the registry (the planted "hostile").
    assert [c.name.split(":")[0] for c in cases] == [*families, "hostile"]
    assert len(cases) < 20  # not one per rule
    family_of = {r: e.name for e in REGISTRY for r in e.rules}
    failing = [f for f in report.findings if f.severity >= Severity.MEDIUM]
    failed = {
        c.name.split(":")[0]
        for c in cases
        if any(isinstance(r, junitparser.Failure) for r in c.result)
    }
    assert failed == {family_of[f.rule_id] for f in failing}
    assert suites[0].failures == len(failed)
    assert xml.tests == len(cases)
    # Every failing finding is in its family's failure text, with its rule ID and fix page.
    texts = {
        c.name.split(":")[0]: r.text
        for c in cases
        for r in c.result
        if isinstance(r, junitparser.Failure)
    }
    for finding in failing:
        text = texts[family_of[finding.rule_id]]
        assert finding.rule_id in text
        assert f"docs/rules/{finding.rule_id}.md" in text
    # The planted check that could not run is skipped with its reason, escaped.
    hostile = next(c for c in cases if c.name == "hostile")
    assert isinstance(hostile.result[0], junitparser.Skipped)
    assert hostile.result[0].message.startswith("not tested: peer said")


def test_junit_gate_suppression_and_control_characters(lab_api, tmp_path):
    api = lab_api(hsts="max-age=\x1b[31mbad", cookies=("sid=1; Path=/",))  # ESC is not XML 1.0
    report = apply_policy(
        api.scan(), Policy(suppressions=(Suppression(rule_id="KW160", target="*", reason="lab"),))
    )
    report = dataclasses.replace(report, gate=Gate(fail_on=Severity.HIGH))
    text = junit.render(report)
    assert "\x1b" not in text
    cases = _family_cases(_junit(report, tmp_path))  # valid XML
    assert not any(isinstance(r, junitparser.Failure) for c in cases.values() for r in c.result)
    assert {f.rule_id for f in report.findings} >= {"KW160", "KW141"}, [
        (f.rule_id, f.message) for f in report.findings
    ]
    # Suppressed and below-gate findings pass, listed in the case's output.
    assert "KW160" in cases["cookies"].system_out
    assert "suppressed: lab" in cases["cookies"].system_out
    assert "KW141" in cases["hsts"].system_out


def test_junit_not_tested_is_skipped(hostile_report, tmp_path):
    target = hostile_report.targets[0]
    outcomes = tuple(
        dataclasses.replace(o, status=o.status.__class__.ERROR, reason="timed out")
        if o.check == "hsts"
        else o
        for o in target.outcomes
    )
    findings = tuple(f for f in target.findings if not f.rule_id.startswith("KW14"))
    report = dataclasses.replace(
        hostile_report, targets=(dataclasses.replace(target, outcomes=outcomes, findings=findings),)
    )
    cases = _family_cases(_junit(report, tmp_path))
    assert isinstance(cases["hsts"].result[0], junitparser.Skipped)
    assert "not tested: timed out" in cases["hsts"].result[0].message


def test_junit_size_two_targets(lab_api, tmp_path):
    """Two scanned targets: a couple of dozen cases, not 74 per target (53 of them skipped)."""
    first, second = lab_api(), lab_api(require_key=False)
    report = dataclasses.replace(
        first.scan(), targets=(first.scan().targets[0], second.scan().targets[0])
    )
    xml = _junit(report, tmp_path)
    for suite in xml:
        assert suite.tests <= len(FAMILIES) + 1
        assert suite.skipped < suite.tests / 2


def test_markdown_escapes_and_renders(hostile_report):
    text = markdown.render(hostile_report)
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in rendered.lower()
    assert "<img" not in rendered.lower()
    assert "&lt;script&gt;" in rendered
    assert "<details>" in rendered and "<table>" in rendered
    assert text.startswith("## keywire: grade ")
    assert len(text) < 65_536


def test_markdown_helpers():
    assert markdown.code("a|b") == "`a\\|b`"
    assert markdown.code("x `y` z") == "``x `y` z``"
    assert markdown.text("<b>*x*</b>") == "&lt;b&gt;\\*x\\*&lt;/b&gt;"
    assert markdown.fenced("```\ncode")[0] == "````"
    rendered = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(
            "| a | b |\n|---|---|\n| "
            + markdown.code(SCRIPT + "|x")
            + " | "
            + markdown.text(SCRIPT)
            + " |\n"
        )
    )
    assert "<script>" not in rendered
    assert rendered.count("<td>") == 2  # the pipe did not split the cell


def test_markdown_is_readable_and_inert():
    """Not over-escaped: URLs are code spans, not http\\:\\/\\/; still nothing renders live."""
    hostile = [
        "http://api.test/v1?a=1&b=<script>x</script> answered 401",
        "see www.evil.test and [click](javascript:alert(1)) or ![i](http://x.test/i.png)",
        "mail bob@example.com <img src=x onerror=alert(1)>",
        "# heading",
        "- item",
        "1. first",
        "===",
        "a | b",
        "*em* _em_ ~~del~~ `code` $x$",
        "<https://auto.test/>",
        "&lt;script&gt; already escaped",
    ]
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for value in hostile:
        escaped = markdown.text(value)
        assert "\\:" not in escaped and "\\/" not in escaped and "\\." not in escaped[2:]
        rendered = renderer.render("x " + escaped + "\n\n" + escaped + "\n")
        for tag in ("<a ", "<script", "<img", "<h1", "<ul", "<ol", "<em", "<strong", "<s>", "<hr"):
            assert tag not in rendered, (value, rendered)
    assert (
        markdown.text("http://127.0.0.1:8080/v1 answered") == "`http://127.0.0.1:8080/v1` answered"
    )
    assert markdown.text("max_age") == "max_age"


def test_markdown_is_capped(hostile_report, monkeypatch):
    monkeypatch.setattr(markdown, "MAX_CHARS", 2500)
    text = markdown.render(hostile_report)
    assert "left out to fit a comment" in text
    assert text.count("<details>") == text.count("</details>")


def test_json_validates_with_policy_baseline_and_gate(hostile_report):
    report = apply_policy(
        hostile_report,
        Policy(
            skip_rules=("KW162",),
            severity={"KW160": Severity.HIGH},
            suppressions=(Suppression(rule_id="KW170", target="*", reason="CDN links"),),
            source="keywire.toml",
        ),
    )
    previous = json.loads(json_reporter.render(report))
    fake = dict(previous["targets"][0]["findings"][0], fingerprint="f" * 32, rule_id="KW140")
    previous["targets"][0]["findings"].append(fake)
    report = compare_baseline(report, parse_baseline(previous, source="before.json"))
    report = dataclasses.replace(report, gate=Gate(fail_on=Severity.HIGH, new_only=True))
    document = json.loads(json_reporter.render(report))
    jsonschema.validate(document, json_reporter.schema())
    assert document["schema_version"] == "1.2"
    assert document["summary"]["suppressed"] == 2
    assert [f["rule_id"] for f in document["baseline"]["fixed"]] == ["KW140"]
    assert document["baseline"]["unchanged"] == len(report.findings)
    assert document["gate"] == {
        "fail_on": "high",
        "fail_under": None,
        "new_only": True,
        "allow_incomplete": False,
        "incomplete": "1 check not tested (hostile)",
        # The sample report has a check that could not run: incomplete fails the gate.
        "passed": False,
        "reasons": ["the scan is incomplete: 1 check not tested (hostile)"],
    }
    assert all(f["rule_id"] != "KW162" for t in document["targets"] for f in t["findings"])
    kw160 = next(f for f in document["targets"][0]["findings"] if f["rule_id"] == "KW160")
    assert kw160["severity"] == "high" and kw160["baseline"] == "unchanged"


def test_json_1_0_documents_still_validate(hostile_report):
    document = json.loads(json_reporter.render(hostile_report))
    document["schema_version"] = "1.0"
    for key in ("baseline", "gate", "policy", "notices"):
        del document[key]
    del document["summary"]["suppressed"]
    for finding in document["targets"][0]["findings"]:
        for key in ("suppressed", "suppression", "baseline", "compliance"):
            del finding[key]
    jsonschema.validate(document, json_reporter.schema())


def test_json_1_1_documents_still_validate_and_1_2_has_compliance(hostile_report):
    document = json.loads(json_reporter.render(hostile_report))
    jsonschema.validate(document, json_reporter.schema())
    from keywire.compliance import mappings_for

    findings = document["targets"][0]["findings"]
    for finding in findings:
        assert finding["compliance"] == [m.as_dict() for m in mappings_for(finding["rule_id"])]
    assert any(c["framework"] == "asvs" for f in findings for c in f["compliance"])
    document["schema_version"] = "1.1"
    for finding in document["targets"][0]["findings"]:
        del finding["compliance"]
    jsonschema.validate(document, json_reporter.schema())
    # A mapping must name a known framework.
    document["targets"][0]["findings"][0]["compliance"] = [
        {"framework": "iso", "id": "1", "title": "", "why": "", "citation": ""}
    ]
    try:
        jsonschema.validate(document, json_reporter.schema())
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("an unknown framework validated")
