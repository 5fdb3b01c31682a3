"""Spec-driven scans of the lab: every planted contradiction reported, nothing on the conformant API."""

from __future__ import annotations

import jsonschema

from keywire import OutcomeStatus
from keywire.reporters import json as json_reporter
from keywire.scoring import DEDUCTIONS


def by_target(report):
    return {t.target.split("/", 3)[-1]: t for t in report.targets}


def test_conformant_lab_reports_nothing(spec_lab):
    lab = spec_lab()
    report = lab.scan()
    assert report.complete, [o for o in report.outcomes if o.status is OutcomeStatus.ERROR]
    assert report.findings == ()
    assert report.score is not None and report.score.grade == "A"
    targets = by_target(report)
    assert set(targets) == {
        "openapi.json",
        "v1/pets",
        "v1/pets/7",
        "v1/orders",
        "v1/search",
        "v1/health",
    }
    spec = targets["openapi.json"].details["openapi"]
    skipped = {s["operation"]: s["reason"] for s in spec["skipped"]}
    assert skipped["POST /pets"].startswith("POST is not sent")
    assert "`ownerId`" in skipped["GET /owners/{ownerId}"]
    # every endpoint ran the spec family, and the cleartext side was probed (and refused)
    for name, target in targets.items():
        if name == "openapi.json":
            continue
        assert any(
            o.check == "openapi" and o.status is OutcomeStatus.COMPLETED for o in target.outcomes
        )
        assert target.details["openapi"]["contradictions"] == []
    assert any(r["url"].startswith("http://") for r in lab.state.seen)


def test_every_planted_contradiction_is_reported(spec_lab):
    lab = spec_lab(contradicting=True)
    report = lab.scan()
    targets = by_target(report)

    spec_rules = {(f.rule_id, f.location) for f in targets["openapi.json"].findings}
    assert spec_rules == {("KW902", "/components/securitySchemes/queryKey")}

    # 1. declared secured, answers 200 without credentials
    (kw910,) = [f for f in targets["v1/orders"].findings if f.rule_id == "KW910"]
    assert kw910.location == "GET /orders"
    assert dict(kw910.evidence)["spec"].endswith("openapi.json#/security")
    assert not any(
        f.rule_id == "KW910"
        for name, t in targets.items()
        if name != "v1/orders"
        for f in t.findings
    )

    # 2. the spec's query-key parameter (not one of the core's usual names) is read at runtime
    kw120 = [f for f in targets["v1/search"].findings if f.rule_id == "KW120"]
    assert [f.location for f in kw120] == ["api_token"]
    assert dict(kw120[0].evidence)["spec"].endswith("#/paths/~1search/get/security")

    # 3. declared https only, the cleartext side serves: KW101 carries the spec location
    for name in ("v1/pets", "v1/orders", "v1/health"):
        (kw101,) = [f for f in targets[name].findings if f.rule_id == "KW101"]
        assert dict(kw101.evidence)["spec"].endswith("openapi.json#/servers/0/url")
        assert "declares HTTPS only" in kw101.message
        assert any(
            "declared https only" in c for c in targets[name].details["openapi"]["contradictions"]
        )


def test_rules_deduct_once_across_endpoints(spec_lab):
    report = spec_lab(contradicting=True).scan()
    assert sum(1 for f in report.findings if f.rule_id == "KW101") >= 5
    assert report.score is not None
    encryption = next(c for c in report.score.categories if c.category.value == "encryption")
    worst = {f.rule_id: f.severity for f in report.findings if f.rule_id in ("KW101",)}
    assert encryption.score == 100 - sum(DEDUCTIONS[s] for s in worst.values())
    assert report.score.grade == "F"  # KW101 is critical


def test_json_report_of_a_spec_scan_is_valid(spec_lab):
    report = spec_lab(contradicting=True).scan()
    document = json_reporter.to_dict(report)
    jsonschema.validate(document, json_reporter.schema())
    assert document["options"]["spec"].endswith("/openapi.json")
    assert document["targets"][0]["details"]["openapi"]["version"] == "3.0.3"


def test_max_endpoints_bounds_the_scan(spec_lab):
    lab = spec_lab(extra_endpoints=20)
    report = lab.scan(max_endpoints=3)
    assert len(report.targets) == 1 + 3
    summary = report.targets[0].details["openapi"]
    assert summary["skipped"][-1]["reason"] == "over --max-endpoints (3)"
    probed = {r["url"].split("?")[0] for r in lab.state.seen if "/v1/" in r["url"]}
    assert len({u.split("/v1/")[1] for u in probed}) == 3


def test_spec_group_can_be_skipped(spec_lab):
    report = spec_lab(contradicting=True).scan(skip=("spec",))
    assert not any(f.rule_id.startswith("KW9") for f in report.findings)
    assert "KW101" in {f.rule_id for f in report.findings}


def test_only_host_level_checks_probe_each_origin_once(spec_lab):
    """With --only tls, an origin's other endpoints have nothing to run: they are not planned
    (they were reported "not scanned", which made the scan incomplete)."""
    report = spec_lab().scan(only=("tls",))
    assert [t.target for t in report.targets if not t.scanned] == []
    assert report.complete
    detail = report.targets[0].details["openapi"]
    assert len(detail["covered_by_their_origin"]) == len(detail["endpoints"]) - 1
    assert len(report.targets) == 2  # the spec and the origin's first endpoint


def test_spec_family_does_not_run_without_a_spec(lab_api):
    report = lab_api().scan()
    assert not any(o.check == "openapi" for o in report.outcomes)
