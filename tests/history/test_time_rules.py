"""KW630 (certificate replaced) and KW631 (grade dropped): a result against the previous one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keywire._models import Severity
from keywire.history.rules import time_findings
from keywire.rules import RULES, family_of
from keywire.scoring import compute_score

from .make import T0, cert, fact, snap

LATER = T0 + timedelta(hours=6)


def ids(findings):
    return [f.rule_id for f in findings]


def test_rules_are_registered_info_and_in_the_history_family():
    for rule_id in ("KW630", "KW631"):
        assert RULES[rule_id].severity is Severity.INFO
        assert family_of(rule_id) == "history"


def test_a_new_leaf_is_a_replaced_certificate_with_both_sides_as_evidence():
    before = snap(certs=(cert("old", days=10),))
    after = snap(certs=(cert("new", days=90, issuer="CN=other CA", at=LATER),), at=LATER)
    [finding] = time_findings(before, after)
    assert finding.rule_id == "KW630"
    evidence = dict(finding.evidence)
    assert evidence["previous_sha256"] == cert("old").sha256
    assert evidence["sha256"] == cert("new").sha256
    assert evidence["issuer"] == "CN=other CA" and evidence["previous_issuer"] == "CN=lab CA"
    assert "a new issuer" in finding.message
    assert finding.location == f"sha256:{cert('new').sha256}"


def test_the_same_leaf_or_no_comparison_raises_nothing():
    same = snap(certs=(cert("a"),))
    assert time_findings(same, snap(certs=(cert("a"),), at=LATER)) == []
    # the first scan, a side that did not answer, or no certificate seen before: nothing to compare
    assert time_findings(None, snap(certs=(cert("b"),))) == []
    assert time_findings(snap(answered=False), snap(certs=(cert("b"),))) == []
    assert time_findings(same, snap(answered=False, at=LATER)) == []
    assert time_findings(snap(), snap(certs=(cert("b"),), at=LATER)) == []
    # a second chain (RSA beside ECDSA) that appears is a new leaf; intermediates are not leaves
    two = snap(certs=(cert("a"), cert("rsa", chain=1), cert("ca", position=1)), at=LATER)
    assert ids(time_findings(same, two)) == ["KW630"]


@pytest.mark.parametrize(
    ("before", "after", "dropped"),
    [("A", "C", True), ("A+", "A", True), ("C", "A", False), ("B", "B", False), ("A", None, False)],
)
def test_grade_dropped(before, after, dropped):
    findings = time_findings(snap(grade=before, score=90), snap(grade=after, score=70, at=LATER))
    assert ("KW631" in ids(findings)) is dropped
    if dropped:
        [finding] = findings
        assert f"from {before} to {after}" in finding.message
        assert dict(finding.evidence)["previous_score"] == "90"


def test_time_findings_change_neither_score_nor_grade():
    findings = [
        RULES["KW140"].finding(target="https://a.test/", message="no HSTS"),
        *time_findings(
            snap(grade="A", certs=(cert("x"),)),
            snap(grade="B", certs=(cert("y"),), at=LATER, target="https://a.test/"),
        ),
    ]
    assert {f.rule_id for f in findings} == {"KW140", "KW630", "KW631"}
    assert compute_score(findings, RULES) == compute_score(findings[:1], RULES)


def test_fact_helper_matches_real_fingerprints():
    real = RULES["KW140"].finding(target="https://api.example.test/v1", message="m")
    assert fact("KW140").fingerprint == real.fingerprint
