"""The score: a deterministic 0-100 number and an A-F grade, per category and overall.

The rubric (published in docs/scoring.md, one test per line of it):

1. Each category starts at 100.
2. Each *rule* with findings in the category deducts once, by the worst severity among its
   findings: critical 60, high 35, medium 15, low 5, info 0. A weakness found on ten endpoints
   is still one weakness. The category score does not go below 0.
3. The overall score is the weighted mean of the category scores, rounded half up: Encryption 35,
   Authentication 35, Data exposure 20, Input validation 10.
4. A score maps to a grade: 90+ A, 80+ B, 65+ C, 50+ D, 35+ E, below F.
5. Caps then lower the grade (never the number): any critical finding → F; any high → at most C;
   any medium → at most B; and a rule may carry its own cap (for example an untrusted
   certificate → at most C, no TLS 1.3 → at most A-). Caps apply to the category the finding
   belongs to and to the overall grade.
6. One root cause deducts once from the overall score. A rule may name another as its root
   cause (``Rule.root_cause``: KW111-KW113 are what KW101, an API served over cleartext, means for
   authentication, data exposure and integrity). Its findings count in their own category's score
   and grade, but not in the overall score while the root rule has a finding on the same target:
   there the root's deduction stands for the whole group, and one fix removes them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._models import Category, CategoryScore, Finding, Rule, Score, Severity

DEDUCTIONS: Mapping[Severity, int] = {
    Severity.CRITICAL: 60,
    Severity.HIGH: 35,
    Severity.MEDIUM: 15,
    Severity.LOW: 5,
    Severity.INFO: 0,
}
WEIGHTS: Mapping[Category, int] = {
    Category.ENCRYPTION: 35,
    Category.AUTHENTICATION: 35,
    Category.DATA_EXPOSURE: 20,
    Category.INPUT_VALIDATION: 10,
}
BANDS: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (65, "C"), (50, "D"), (35, "E"))
GRADES: tuple[str, ...] = ("A+", "A", "A-", "B", "C", "D", "E", "F")
SEVERITY_CAPS: Mapping[Severity, str] = {
    Severity.CRITICAL: "F",
    Severity.HIGH: "C",
    Severity.MEDIUM: "B",
}


def grade_for(score: int) -> str:
    """The grade of a score before caps."""
    for threshold, grade in BANDS:
        if score >= threshold:
            return grade
    return "F"


def worse(a: str, b: str) -> str:
    """The worse of two grades."""
    return a if GRADES.index(a) >= GRADES.index(b) else b


def _caps(findings: Iterable[Finding], rules: Mapping[str, Rule]) -> list[tuple[str, str]]:
    """(grade, reason) for every rule whose findings cap the grade, worst cap first."""
    worst: dict[str, Severity] = {}
    for finding in findings:
        _keep_worst(worst, finding.rule_id, finding.severity)
    return _caps_from_worst(worst, rules)


def _caps_from_worst(
    worst: Mapping[str, Severity], rules: Mapping[str, Rule]
) -> list[tuple[str, str]]:
    caps: list[tuple[str, str]] = []
    for rule_id, severity in sorted(worst.items()):
        rule = rules.get(rule_id)
        cap = SEVERITY_CAPS.get(severity)
        if rule is not None and rule.grade_cap is not None:
            cap = rule.grade_cap if cap is None else worse(cap, rule.grade_cap)
        if cap is not None:
            title = rule.title if rule is not None else rule_id
            caps.append((cap, f"{rule_id} ({severity.value}): {title}"))
    return sorted(caps, key=lambda item: -GRADES.index(item[0]))


def _apply(grade: str, caps: list[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
    applied = []
    for cap, reason in caps:
        if GRADES.index(cap) > GRADES.index(grade):
            applied.append(f"at most {cap}: {reason}")
    for cap, _ in caps:
        grade = worse(grade, cap)
    return grade, tuple(applied)


def category_score(
    findings: Iterable[Finding], category: Category, rules: Mapping[str, Rule]
) -> int:
    """Rubric lines 1-2 for one category."""
    worst: dict[str, Severity] = {}
    for finding in findings:
        rule = rules.get(finding.rule_id)
        if rule is not None and rule.category is category:
            _keep_worst(worst, finding.rule_id, finding.severity)
    return _category_from_worst(worst)


def counted_once(findings: Iterable[Finding], rules: Mapping[str, Rule]) -> list[Finding]:
    """Rubric line 6: the findings the overall score counts.

    A finding whose rule names a root cause is left out when the root rule has a finding on the
    same target (the root's deduction stands for both); its category still counts it.
    """
    findings = list(findings)
    present = {(f.rule_id, f.target) for f in findings}
    kept = []
    for finding in findings:
        rule = rules.get(finding.rule_id)
        root = rule.root_cause if rule is not None else None
        if root is not None and (root, finding.target) in present:
            continue
        kept.append(finding)
    return kept


class ScoreTally:
    """The rubric, fed a few findings at a time: a fleet's overall score without holding its
    findings.

    The score depends only on each rule's worst severity (rubric lines 2 and 5), among all
    findings and among those the overall score counts (line 6), so that is all a tally keeps,
    plus, for rules that name a root cause, the worst severity per target (the root may show up
    later, from another target's result). :func:`compute_score` is a tally of one batch.

    >>> from keywire.rules import RULES
    >>> tally = ScoreTally(RULES)
    >>> tally.add([]); tally.score().grade
    'A'
    """

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        from .rules import ROOT_RULE_IDS, RULES

        self._rules = rules
        # The catalogue knows its roots without loading every family (``--only tls`` scores
        # without the HTTP families); any other rule table is asked.
        self._roots = (
            ROOT_RULE_IDS
            if rules is RULES
            else {r.root_cause for r in rules.values() if r.root_cause is not None}
        )
        self._worst: dict[str, Severity] = {}
        self._worst_once: dict[str, Severity] = {}
        self._rooted: dict[tuple[str, str], Severity] = {}
        self._present: set[tuple[str, str]] = set()

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            rule_id, severity = finding.rule_id, finding.severity
            _keep_worst(self._worst, rule_id, severity)
            if rule_id in self._roots:
                self._present.add((rule_id, finding.target))
            rule = self._rules.get(rule_id)
            if rule is not None and rule.root_cause is not None:
                _keep_worst(self._rooted, (rule_id, finding.target), severity)
            else:
                _keep_worst(self._worst_once, rule_id, severity)

    def score(self) -> Score:
        """The score of every finding added so far."""
        once = dict(self._worst_once)
        for (rule_id, target), severity in self._rooted.items():
            rule = self._rules[rule_id]
            if (rule.root_cause, target) not in self._present:
                _keep_worst(once, rule_id, severity)
        categories = []
        weighted = 0
        for category, weight in WEIGHTS.items():
            in_category = self._in(category, self._worst)
            score = _category_from_worst(in_category)
            weighted += _category_from_worst(self._in(category, once)) * weight
            grade, applied = _apply(grade_for(score), _caps_from_worst(in_category, self._rules))
            categories.append(
                CategoryScore(category=category, score=score, grade=grade, caps=applied)
            )
        total_weight = sum(WEIGHTS.values())
        overall = (weighted * 2 + total_weight) // (total_weight * 2)  # round half up, in integers
        grade, applied = _apply(grade_for(overall), _caps_from_worst(self._worst, self._rules))
        return Score(score=overall, grade=grade, categories=tuple(categories), caps=applied)

    def _in(self, category: Category, worst: Mapping[str, Severity]) -> dict[str, Severity]:
        return {
            rule_id: severity
            for rule_id, severity in worst.items()
            if (rule := self._rules.get(rule_id)) is not None and rule.category is category
        }


def _keep_worst(worst: dict[Any, Severity], key: Any, severity: Severity) -> None:
    previous = worst.get(key)
    if previous is None or severity > previous:
        worst[key] = severity


def _category_from_worst(worst: Mapping[str, Severity]) -> int:
    return max(0, 100 - sum(DEDUCTIONS[s] for s in worst.values()))


def compute_score(findings: Iterable[Finding], rules: Mapping[str, Rule]) -> Score:
    """Score a set of findings with the rubric above."""
    tally = ScoreTally(rules)
    tally.add(findings)
    return tally.score()
