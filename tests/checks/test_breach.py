"""Issue 13 item 6: BREACH exposure (compressed + reflected + secret in one HTTPS response).

The secret-shape detector and the check are pure; the lab profiles
(:mod:`labs.webpages`) serve gzip, deflate and br answers and the three near misses.
"""

from __future__ import annotations

import json
import time

import pytest

from keywire import Confidence, OutcomeStatus, ScanOptions
from keywire.checks._base import CheckNotRun
from keywire.checks.breach import BreachObservation, SecretSeen, check, secret_shaped
from keywire.lab import LabServer
from keywire.redact import redact
from labs.webpages import PAGE_PROFILES, brotli_stored, make_page_app, page_profile

from ..judged import scan_judged

TOKEN = "Zq3xT9vLk2Pw8RbN4mYc7HsJ"  # random-looking, not a real credential


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"csrf_token": TOKEN}),
        f"<input type='hidden' name='authenticity_token' value='{TOKEN}'>",
        f'<input value="{TOKEN}" type="hidden" name="csrfmiddlewaretoken">',
        f'<meta name="csrf-token" content="{TOKEN}">',
        f"window.config = {{apiKey: '{TOKEN}'}}",
        f"access_token={TOKEN}&expires_in=3600",
    ],
)
def test_secret_shaped_values(text: str) -> None:
    (found,) = secret_shaped(text)
    assert found.value == redact(TOKEN)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"csrf_token": "aaaaaaaaaaaaaaaaaaaaaaaa"}),  # not random
        json.dumps({"token": "please-provide-a-token-here"}),  # words
        json.dumps({"csrf_token": "short1A"}),  # too short
        json.dumps({"page_token_hint": TOKEN}),  # a name that is not a secret's
        json.dumps({"id": TOKEN}),
        json.dumps({"token": "kw_canary_" + "0" * 32}),  # keywire's own canary
    ],
)
def test_values_that_are_not_secrets(text: str) -> None:
    assert secret_shaped(text) == []


def test_the_probe_marker_is_never_a_secret() -> None:
    marker = "kw" + "a1b2c3d4e5f6a7b8c9d0"
    assert secret_shaped(json.dumps({"token": marker}), ignore=(marker,)) == []


def test_hostile_markup_does_not_make_the_detector_backtrack() -> None:
    """Regression: a regular expression spanning whole tags took 87 s on this 1 MiB body."""
    started = time.monotonic()
    assert secret_shaped("<input name=csrf_token " * 40_000) == []
    assert secret_shaped("<meta " + "a=b " * 250_000) == []
    assert time.monotonic() - started < 10


def test_secret_detection_is_bounded() -> None:
    text = "".join(f'"csrf_{i}": "{TOKEN}{i:06d}",' for i in range(5000))
    assert len(secret_shaped(text)) == 10


def observe(**kw) -> BreachObservation:
    base = {
        "target": "https://api.test/",
        "url": "https://api.test/v1/search",
        "status": 200,
        "encoding": "gzip",
        "reflected": True,
        "secrets": (SecretSeen(name="csrf_token", value=redact(TOKEN)),),
    }
    return BreachObservation(**{**base, **kw})


def test_all_three_ingredients_make_a_finding() -> None:
    (finding,) = check(observe())
    assert finding.rule_id == "KW709"
    assert finding.confidence is Confidence.HIGH
    assert TOKEN not in json.dumps(dict(finding.evidence)) and TOKEN not in finding.message


@pytest.mark.parametrize(
    "changes",
    [{"encoding": ""}, {"encoding": "identity"}, {"reflected": False}, {"secrets": ()}],
)
def test_one_missing_ingredient_is_no_finding(changes) -> None:
    assert check(observe(**changes)) == []


def test_br_judged_on_a_second_request_is_medium_confidence() -> None:
    (finding,) = check(observe(encoding="br", judged_on_compressed=False))
    assert finding.confidence is Confidence.MEDIUM


def test_no_answer_is_not_tested_and_no_https_not_applicable() -> None:
    with pytest.raises(CheckNotRun) as stop:
        check(observe(failure="read timed out"))
    assert stop.value.status is OutcomeStatus.ERROR
    with pytest.raises(CheckNotRun) as stop:
        check(observe(skipped="no HTTPS side is known for this target"))
    assert stop.value.status is OutcomeStatus.SKIPPED


def test_brotli_stored_streams_decode(tmp_path) -> None:
    brotli = pytest.importorskip("brotli")
    for size in (0, 1, 65_536, 65_537, 200_000):
        data = bytes(i % 251 for i in range(size))
        assert brotli.decompress(brotli_stored(data)) == data


# -- the lab ----------------------------------------------------------------------------------

BREACH_PROFILES = [p for p in PAGE_PROFILES if p.compress or p.reflect or p.secret]


def scan_page(item, pki, **options):
    with LabServer(make_page_app(item), ssl_context=pki.server_context()) as server:
        report = scan_judged(
            server.url + "/v1/search",
            options=ScanOptions(ca_file=str(pki.ca_file), timeout=5, **options),
        )
    return report.targets[0]


@pytest.mark.parametrize("item", BREACH_PROFILES, ids=lambda p: p.name)
def test_lab_answer_yields_exactly_its_findings(item, pki) -> None:
    result = scan_page(item, pki, only=("breach",))
    (outcome,) = result.outcomes
    assert outcome.status is OutcomeStatus.COMPLETED, outcome.reason
    assert {f.rule_id for f in result.findings} == set(item.expect)
    details = result.details["breach"]
    assert details["reflected"] is item.reflect
    assert details["content_encoding"] == (item.compress or "none")
    assert bool(details["secrets"]) is item.secret


@pytest.mark.parametrize("item", [p for p in BREACH_PROFILES if p.expect], ids=lambda p: p.name)
def test_every_breach_flaw_has_a_near_miss(item) -> None:
    assert not page_profile(item.near_miss).expect


def test_br_is_judged_on_the_uncompressed_answer(pki) -> None:
    (finding,) = scan_page(page_profile("breach-br"), pki, only=("breach",)).findings
    assert finding.confidence is Confidence.MEDIUM
    assert ("content_encoding", "br") in finding.evidence


def test_flaw_and_near_miss_differ_in_exactly_that_finding_in_a_full_scan(pki) -> None:
    flawed = {f.rule_id for f in scan_page(page_profile("breach-gzip"), pki).findings}
    near = {f.rule_id for f in scan_page(page_profile("reflected-uncompressed"), pki).findings}
    assert flawed - near == {"KW709"}
    assert near <= flawed
