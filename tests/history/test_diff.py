"""keywire diff's buckets: new, fixed, unchanged and not re-tested (an error is not a pass)."""

from __future__ import annotations

from datetime import timedelta

from keywire._models import Severity
from keywire.history.diff import diff_snapshots

from .make import ALL_CHECKS, T0, cert, fact, snap

LATER = T0 + timedelta(days=1)
HSTS = fact("KW140")
CLEAR = fact("KW101", Severity.HIGH)
COOKIE = fact("KW160", Severity.LOW, location="session")


def fps(findings):
    return {f.fingerprint for f in findings}


def test_new_fixed_unchanged():
    before = snap(HSTS, COOKIE)
    after = snap(CLEAR, COOKIE, at=LATER, grade="C", score=60)
    d = diff_snapshots(before, after)
    assert fps(d.new) == fps([CLEAR])
    assert fps(d.fixed) == fps([HSTS])
    assert fps(d.unchanged) == fps([COOKIE])
    assert d.not_retested == ()
    assert d.grade_change == "dropped" and d.changed


def test_gone_but_not_retested_when_its_check_did_not_complete():
    checks = dict(ALL_CHECKS, hsts="error")
    d = diff_snapshots(snap(HSTS), snap(checks=checks, at=LATER))
    assert d.fixed == () and fps(d.not_retested) == fps([HSTS])
    # a target that did not answer re-tests nothing
    d = diff_snapshots(snap(HSTS, CLEAR), snap(answered=False, at=LATER, error="refused"))
    assert d.fixed == () and fps(d.not_retested) == fps([HSTS, CLEAR])
    assert d.new == () and d.grade_change == "unknown"


def test_first_scan_everything_is_new_and_suppressed_findings_are_nobody():
    d = diff_snapshots(None, snap(HSTS, fact("KW162", suppressed=True)))
    assert fps(d.new) == fps([HSTS]) and d.before is None
    # newly suppressed is not fixed, and not new either
    d = diff_snapshots(snap(HSTS), snap(fact("KW140", suppressed=True), at=LATER))
    assert d.new == () and d.fixed == () and d.unchanged == ()


def test_time_rule_findings_are_shown_as_changes_not_findings():
    d = diff_snapshots(
        snap(certs=(cert("old"),)),
        snap(
            fact("KW630", Severity.INFO),
            fact("KW631", Severity.INFO),
            certs=(cert("new"),),
            at=LATER,
        ),
    )
    assert d.new == ()
    assert [c.sha256 for c in d.certificates_replaced] == [cert("new").sha256]
    assert d.changed
