"""A scan report full of hostile text, from a real lab server, shared by the reporter tests."""

from __future__ import annotations

import dataclasses

import pytest

from keywire import CheckOutcome, OutcomeStatus, ScanReport

from ..htmlcheck import PAYLOAD


@pytest.fixture
def hostile_report(lab_api) -> ScanReport:
    """Planted markup in a header value, a cookie, a body and a check's failure reason."""
    api = lab_api(
        hsts=f"max-age=1; {PAYLOAD}",
        cookies=(f"session={PAYLOAD}; Path=/",),
        extra_headers=(("X-Note", PAYLOAD), ("Link", f"<http://cdn.test/{PAYLOAD}>; rel=next")),
        require_key=False,
        body={"next": f"http://api.test/{PAYLOAD}", "note": PAYLOAD},
    )
    report = api.scan()
    target = report.targets[0]
    # A check that could not run, with the target's text in its reason.
    broken = CheckOutcome(
        check="hostile",
        target=target.target,
        status=OutcomeStatus.ERROR,
        reason=f"peer said {PAYLOAD}",
    )
    target = dataclasses.replace(
        target,
        outcomes=(*target.outcomes, broken),
        details={**target.details, "planted": {"header": PAYLOAD}},
    )
    return dataclasses.replace(report, targets=(target,))
