"""One test per line of the scoring rubric (docs/scoring.md)."""

from __future__ import annotations

import pytest

from keywire import Category, Rule, Severity
from keywire.rules import RULES
from keywire.scoring import BANDS, WEIGHTS, compute_score, grade_for


def rule(rule_id: str, category: Category, severity: Severity, cap: str | None = None) -> Rule:
    return Rule(
        id=rule_id,
        title=f"test rule {rule_id}",
        cwe=(1,),
        owasp_api="API8:2023",
        category=category,
        severity=severity,
        description="d" * 50,
        remediation="r" * 30,
        references=("https://example.org",),
        grade_cap=cap,
    )


E, A, D, I = (  # noqa: E741
    Category.ENCRYPTION,
    Category.AUTHENTICATION,
    Category.DATA_EXPOSURE,
    Category.INPUT_VALIDATION,
)


def score_of(*rules_and_severities: tuple[Rule, Severity], target: str = "https://t/"):
    table = {r.id: r for r, _ in rules_and_severities}
    findings = [
        r.finding(target=target, message="m", severity=s, location=str(i))
        for i, (r, s) in enumerate(rules_and_severities)
    ]
    return compute_score(findings, table)


def cat(score, category):
    return next(c for c in score.categories if c.category is category)


def test_line1_every_category_starts_at_100():
    score = compute_score([], {})
    assert [c.score for c in score.categories] == [100, 100, 100, 100]
    assert score.score == 100
    assert score.grade == "A"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, 40),
        (Severity.HIGH, 65),
        (Severity.MEDIUM, 85),
        (Severity.LOW, 95),
        (Severity.INFO, 100),
    ],
)
def test_line2_deduction_by_severity(severity, expected):
    r = rule("KW001", E, severity)
    assert cat(score_of((r, severity)), E).score == expected


def test_line2_a_rule_deducts_once_by_its_worst_finding():
    r = rule("KW001", E, Severity.MEDIUM)
    score = score_of((r, Severity.MEDIUM), (r, Severity.HIGH), (r, Severity.MEDIUM))
    assert cat(score, E).score == 65


def test_line2_category_score_floors_at_zero():
    rules = [rule(f"KW00{i}", A, Severity.CRITICAL) for i in range(3)]
    score = score_of(*[(r, Severity.CRITICAL) for r in rules])
    assert cat(score, A).score == 0


def test_line2_findings_count_only_in_their_category():
    r = rule("KW001", D, Severity.HIGH)
    score = score_of((r, Severity.HIGH))
    assert cat(score, D).score == 65
    assert {c.score for c in score.categories if c.category is not D} == {100}


def test_line3_weighted_mean_rounded_half_up():
    assert sum(WEIGHTS.values()) == 100
    # input validation (weight 10) at 95: 100*90/100 + 95*10/100 = 99.5 -> 100
    r = rule("KW001", I, Severity.LOW)
    assert score_of((r, Severity.LOW)).score == 100
    # encryption (35) at 85: 94.75 -> 95
    r = rule("KW002", E, Severity.MEDIUM)
    assert score_of((r, Severity.MEDIUM)).score == 95


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "A"),
        (90, "A"),
        (89, "B"),
        (80, "B"),
        (79, "C"),
        (65, "C"),
        (64, "D"),
        (50, "D"),
        (49, "E"),
        (35, "E"),
        (34, "F"),
        (0, "F"),
    ],
)
def test_line4_bands(score, grade):
    assert grade_for(score) == grade
    assert BANDS[0] == (90, "A")


def test_line5_critical_caps_at_f():
    r = rule("KW001", I, Severity.CRITICAL)
    score = score_of((r, Severity.CRITICAL))
    assert score.score == 94  # the number is not capped
    assert score.grade == "F"
    assert cat(score, I).grade == "F"
    assert cat(score, E).grade == "A"


def test_line5_high_caps_at_c():
    r = rule("KW001", I, Severity.HIGH)
    score = score_of((r, Severity.HIGH))
    assert score.grade == "C"
    assert any("KW001" in c for c in score.caps)


def test_line5_medium_caps_at_b():
    r = rule("KW001", E, Severity.MEDIUM)
    score = score_of((r, Severity.MEDIUM))
    assert score.score == 95
    assert score.grade == "B"


def test_line5_low_does_not_cap():
    r = rule("KW001", E, Severity.LOW)
    assert score_of((r, Severity.LOW)).grade == "A"


def test_line5_rule_caps_apply():
    r = rule("KW001", E, Severity.LOW, cap="A-")
    score = score_of((r, Severity.LOW))
    assert score.grade == "A-"
    assert cat(score, E).grade == "A-"
    untrusted = rule("KW002", E, Severity.LOW, cap="C")
    assert score_of((untrusted, Severity.LOW)).grade == "C"


def test_line5_the_worst_cap_wins():
    a = rule("KW001", E, Severity.MEDIUM, cap="A-")
    b = rule("KW002", A, Severity.HIGH)
    assert score_of((a, Severity.MEDIUM), (b, Severity.HIGH)).grade == "C"


def test_line6_a_root_cause_deducts_once_from_the_overall_score():
    import dataclasses

    root = rule("KW001", E, Severity.CRITICAL)
    consequence = dataclasses.replace(rule("KW002", A, Severity.HIGH), root_cause="KW001")
    both = score_of((root, Severity.CRITICAL), (consequence, Severity.HIGH))
    assert cat(both, A).score == 65 and cat(both, A).grade == "C"  # shown in its category
    assert both.score == score_of((root, Severity.CRITICAL)).score  # counted once overall
    alone = score_of((consequence, Severity.HIGH))
    assert alone.score == (100 * 35 + 65 * 35 + 100 * 20 + 100 * 10 + 50) // 100  # no root: counts


def test_score_is_deterministic_and_order_independent():
    a = rule("KW001", E, Severity.MEDIUM)
    b = rule("KW002", A, Severity.HIGH)
    one = score_of((a, Severity.MEDIUM), (b, Severity.HIGH))
    two = score_of((b, Severity.HIGH), (a, Severity.MEDIUM))
    assert one == two


def test_real_catalogue_severity_matches_design():
    """DESIGN.md's severity guide for the rules that exist."""
    assert RULES["KW101"].severity is Severity.CRITICAL
    assert RULES["KW110"].severity is Severity.CRITICAL
    assert RULES["KW140"].severity is Severity.MEDIUM
    assert RULES["KW143"].severity is Severity.LOW
    assert RULES["KW130"].severity is Severity.MEDIUM
    assert RULES["KW120"].severity is Severity.MEDIUM
