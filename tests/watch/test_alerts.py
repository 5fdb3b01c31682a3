"""Which changes raise alerts, each once, each with its recovery notice (pure: no store, no network)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keywire._models import Severity
from keywire.watch import alerts as A
from keywire.watch.alerts import AlertPolicy, evaluate

from ..history.make import ALL_CHECKS, T0, cert, fact, snap

POLICY = AlertPolicy()
HSTS = fact("KW140")  # medium
CLEAR = fact("KW101", Severity.HIGH)
LOW = fact("KW144", Severity.LOW)


class Run:
    """Feed one target's results through evaluate(), keeping the state as the store would."""

    def __init__(self, policy: AlertPolicy = POLICY) -> None:
        self.state = None
        self.previous = None
        self.policy = policy
        self.clock = T0

    def __call__(self, current, *, hours: float = 6):
        self.clock += timedelta(hours=hours)
        result = evaluate(self.state, self.previous, current, policy=self.policy, now=self.clock)
        self.state, self.previous = result.state, current
        return [e.type for e in result.events], result.events


def test_first_observation_is_the_baseline_for_findings_and_grade():
    run = Run()
    types, _ = run(snap(HSTS, CLEAR, grade="C"))
    assert types == []
    types, _ = run(snap(HSTS, CLEAR, grade="C"))
    assert types == []


def test_a_previous_result_in_the_store_is_the_baseline():
    run = Run()
    run.previous = snap(HSTS, grade="B")
    types, events = run(snap(HSTS, CLEAR, grade="C"))
    assert types == [A.FINDINGS_NEW, A.GRADE_DROPPED]
    assert [f["rule_id"] for f in events[0].data["findings"]] == ["KW101"]
    assert events[0].severity is Severity.HIGH
    assert events[1].data["previous_grade"] == "B" and events[1].data["grade"] == "C"


def test_new_findings_at_or_above_the_threshold_alert_once_and_recover_once():
    run = Run()
    run(snap(grade="A"))
    types, events = run(snap(HSTS, LOW, grade="B"))
    assert types == [A.FINDINGS_NEW, A.GRADE_DROPPED]
    assert [f["rule_id"] for f in events[0].data["findings"]] == ["KW140"]  # LOW is below medium
    assert run(snap(HSTS, LOW, grade="B"))[0] == []  # still there: no second alert
    types, events = run(snap(grade="A"))
    assert types == [A.FINDINGS_FIXED, A.GRADE_RECOVERED]
    assert events[0].recovery and events[1].recovery
    assert run(snap(grade="A"))[0] == []


def test_a_finding_whose_check_did_not_run_is_not_fixed():
    run = Run()
    run(snap(grade="A"))
    run(snap(HSTS, grade="B"))
    assert run(snap(grade="B", checks=dict(ALL_CHECKS, hsts="error")))[0] == []
    assert run(snap(grade="A"))[0] == [A.FINDINGS_FIXED, A.GRADE_RECOVERED]


def test_the_threshold_is_configurable():
    run = Run(AlertPolicy(min_severity=Severity.HIGH))
    run(snap())
    _types, events = run(snap(HSTS, CLEAR, grade="C"))
    assert [f["rule_id"] for f in events[0].data["findings"]] == ["KW101"]


def test_grade_drop_then_further_drop_then_recovery_to_the_grade_before():
    run = Run()
    run(snap(grade="A"))
    assert run(snap(grade="B"))[0] == [A.GRADE_DROPPED]
    assert run(snap(grade="D"))[0] == [A.GRADE_DROPPED]
    assert run(snap(grade="B"))[0] == []  # better, not yet back to A
    types, events = run(snap(grade="A+"))
    assert types == [A.GRADE_RECOVERED]
    assert "it was A before the drop" in events[0].summary


def test_unreachable_once_then_recovered_and_nothing_else_while_down():
    run = Run()
    run(snap(HSTS, grade="B"))
    types, events = run(snap(answered=False, error="connection refused"))
    assert types == [A.TARGET_UNREACHABLE]
    assert "connection refused" in events[0].summary
    assert run(snap(answered=False))[0] == []
    assert run(snap(HSTS, grade="B"))[0] == [A.TARGET_RECOVERED]  # HSTS was known: not new


def test_a_target_that_never_answered_alerts_on_its_first_cycle():
    assert Run()(snap(answered=False))[0] == [A.TARGET_UNREACHABLE]


@pytest.mark.parametrize(
    ("days", "fired"),
    [(45, []), (29.5, [30]), (13, [14]), (5, [7]), (-1, [7])],
)
def test_expiry_first_seen_fires_only_the_smallest_threshold_crossed(days, fired):
    run = Run()
    leaf = cert("api", days=days + 0.25, at=T0 + timedelta(hours=6))
    _types, events = run(snap(certs=(leaf,)))
    assert [e.data["threshold_days"] for e in events if e.type == A.CERTIFICATE_EXPIRING] == fired


def test_each_expiry_threshold_fires_once_as_time_passes_then_renewal_recovers():
    run = Run()
    leaf = cert("api", days=40)  # expires at T0 + 40 days
    fired = []
    for _day in range(0, 40):
        types, events = run(snap(certs=(leaf,)), hours=24)
        fired += [e.data["threshold_days"] for e in events if e.type == A.CERTIFICATE_EXPIRING]
    assert fired == [30, 14, 7]
    renewed = cert("api-renewed", days=90, at=run.clock)
    types, events = run(snap(certs=(renewed,)))
    assert types == [A.CERTIFICATE_RENEWED]
    assert events[0].data["previous_certificate"]["sha256"] == leaf.sha256
    assert run(snap(certs=(renewed,)))[0] == []


def test_expiry_thresholds_are_configurable_and_a_missing_tls_result_keeps_the_state():
    run = Run(AlertPolicy(expiry_days=(60, 3)))
    leaf = cert("api", days=50)
    assert [e.data["threshold_days"] for e in run(snap(certs=(leaf,)))[1]] == [60]
    # the TLS check did not run this time: no certificate seen, so no renewal notice
    assert run(snap(checks=dict(ALL_CHECKS, tls="error")))[0] == []
    assert run(snap(certs=(leaf,)))[0] == []


def test_the_single_scan_expiry_rule_is_left_to_the_expiry_alerts():
    run = Run()
    run(snap())
    types, _ = run(
        snap(fact("KW620"), certs=(cert("x", days=20, at=run.clock + timedelta(hours=6)),))
    )
    assert types == [A.CERTIFICATE_EXPIRING]


def test_payload_shape():
    run = Run()
    run.previous = snap(grade="A", scan_id=1)
    _, [event] = run(snap(grade="C", scan_id=2))
    payload = event.payload("msg_x")
    assert payload["id"] == "msg_x" and payload["type"] == "keywire.grade.dropped"
    assert payload["timestamp"].startswith("2026-06-01T18:00:00")
    assert payload["data"]["target"] == "https://api.example.test/v1"
    assert payload["data"]["scan_id"] == 2 and payload["data"]["recovery"] is False
