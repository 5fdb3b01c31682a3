"""A fleet's report is counted one target at a time and must say what the whole report says."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime, timezone

import pytest

from keywire import Gate, Policy, Severity, Suppression
from keywire._models import (
    CheckOutcome,
    Confidence,
    OutcomeStatus,
    ScanReport,
    TargetResult,
    fingerprint,
)
from keywire._totals import Totals
from keywire.baseline import Baseline
from keywire.finish import Finisher, finish_report
from keywire.gate import evaluate, evaluate_totals, incompleteness
from keywire.reporters import json as json_reporter
from keywire.rules import RULES
from keywire.scoring import (
    WEIGHTS,
    ScoreTally,
    _apply,
    _caps,
    category_score,
    compute_score,
    counted_once,
    grade_for,
)

RULE_IDS = sorted(r for r in RULES if not RULES[r].retired)
ROOTED = sorted(r.id for r in RULES.values() if r.root_cause)


def _finding(rng: random.Random, target: str, rule_id: str | None = None):
    rule = RULES[rule_id or rng.choice(RULE_IDS)]
    return rule.finding(
        target=target,
        message="m",
        severity=rng.choice(list(Severity)),
        confidence=Confidence.HIGH,
        location=str(rng.randrange(3)),
    )


def _report(seed: int, targets: int = 12) -> ScanReport:
    rng = random.Random(seed)
    results = []
    for index in range(targets):
        url = f"https://t{index % 5}.test/{index}"
        findings = [_finding(rng, url) for _ in range(rng.randrange(6))]
        if ROOTED and rng.random() < 0.5:  # a consequence rule, its root maybe elsewhere
            rooted = RULES[rng.choice(ROOTED)]
            findings.append(_finding(rng, url, rooted.id))
            if rng.random() < 0.5:
                where = url if rng.random() < 0.5 else f"https://t{index % 5}.test/x"
                findings.append(_finding(rng, where, rooted.root_cause))
        scanned = rng.random() > 0.15
        outcomes = tuple(
            CheckOutcome(
                check=name,
                target=url,
                status=rng.choice(list(OutcomeStatus)) if scanned else OutcomeStatus.ERROR,
                reason="r",
            )
            for name in ("hsts", "tls", "cookies")
        )
        results.append(
            TargetResult(
                target=url,
                scanned=scanned,
                error="" if scanned else "refused",
                findings=tuple(findings),
                outcomes=outcomes,
                score=compute_score(findings, RULES) if scanned else None,
            )
        )
    findings = [f for r in results for f in r.findings]
    return ScanReport(
        tool_version="t",
        started_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
        duration_s=1.0,
        targets=tuple(results),
        score=compute_score(findings, RULES) if any(r.scanned for r in results) else None,
    )


def _rubric(findings):
    """The rubric applied to every finding at once (compute_score before the tally existed)."""
    findings = list(findings)
    once = counted_once(findings, RULES)
    categories, weighted = [], 0
    for category, weight in WEIGHTS.items():
        inside = [f for f in findings if RULES[f.rule_id].category is category]
        score = category_score(inside, category, RULES)
        weighted += category_score(once, category, RULES) * weight
        categories.append((score, *_apply(grade_for(score), _caps(inside, RULES))))
    total = sum(WEIGHTS.values())
    overall = (weighted * 2 + total) // (total * 2)
    return overall, _apply(grade_for(overall), _caps(findings, RULES)), categories


@pytest.mark.parametrize("seed", range(40))
def test_a_tally_fed_in_batches_scores_like_all_findings_at_once(seed):
    report = _report(seed)
    tally = ScoreTally(RULES)
    batches = [t.findings for t in report.targets]
    random.Random(seed).shuffle(batches)
    for batch in batches:
        tally.add(batch)
    score = tally.score()
    assert score == compute_score(report.findings, RULES)
    overall, (grade, caps), categories = _rubric(report.findings)
    assert (score.score, score.grade, score.caps) == (overall, grade, caps)
    assert [(c.score, c.grade, c.caps) for c in score.categories] == categories


@pytest.mark.parametrize("seed", range(20))
def test_totals_say_what_the_report_says(seed):
    report = _report(seed)
    gate = Gate(fail_on=Severity.MEDIUM, allow_incomplete=bool(seed % 2))
    totals = Totals.of(report, gate)
    assert totals.complete is report.complete
    assert totals.scanned_any is report.scanned_any
    assert totals.findings == len(report.active_findings)
    assert totals.incompleteness() == incompleteness(report)
    streamed = evaluate_totals(totals, report.score)
    whole = evaluate(report, gate)
    assert (streamed.passed, streamed.reasons) == (whole.passed, whole.reasons)
    assert totals.failing == len(whole.failing)


def _policy_and_baseline(report: ScanReport) -> tuple[Policy, Baseline]:
    findings = report.findings
    policy = Policy(
        skip_rules=(findings[0].rule_id,),
        severity={findings[1].rule_id: Severity.LOW},
        suppressions=(
            Suppression(rule_id=findings[2].rule_id, target="https://t1.test/*", reason="ok"),
            Suppression(
                rule_id=findings[3].rule_id,
                target="*",
                reason="was ok",
                expires=date(2025, 1, 1),
            ),
        ),
    )
    kept = [dataclasses.replace(f) for f in findings[::3]]
    gone = RULES[RULE_IDS[0]].finding(target="https://t2.test/2", message="old", location="z")
    baseline = Baseline(source="b.json", started_at="x", findings=(*kept, gone))
    return policy, baseline


@pytest.mark.parametrize("seed", range(10))
def test_finishing_target_by_target_is_finish_report(seed):
    report = _report(seed, targets=20)
    policy, baseline = _policy_and_baseline(report)
    gate = Gate(fail_on=Severity.HIGH, new_only=True)
    whole = finish_report(report, policy=policy, baseline=baseline, gate=gate)

    envelope = dataclasses.replace(report, targets=(), score=None)
    finisher = Finisher(envelope, policy=policy, baseline=baseline, gate=gate)
    streamed = [finisher.target(t) for t in report.targets]
    head = finisher.report(envelope)
    assert tuple(streamed) == whole.targets
    assert (head.score, head.notices, head.baseline, head.gate, head.policy) == (
        whole.score,
        whole.notices,
        whole.baseline,
        whole.gate,
        whole.policy,
    )
    # The JSON report's head is the same whether its targets are in memory or were streamed.
    expected = json_reporter.to_dict(whole)
    del expected["targets"]
    got = json_reporter.head_dict(head, finisher.totals)
    del got["targets"]
    assert got == expected


def test_fingerprints_in_the_fixture_are_stable():
    finding = RULES[RULE_IDS[0]].finding(target="https://a/", message="m", location="l")
    assert finding.fingerprint == fingerprint(RULE_IDS[0], "https://a/", "l")
