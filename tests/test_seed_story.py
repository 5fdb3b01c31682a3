"""The seed's own story, told truthfully (issue 10, item 19).

The demo serves the seed's handler as written: 401 ``{"error": "unauthorized"}`` for a missing
key and a wrong key alike. keywire reports what an API that asks for credentials over cleartext
means in each category (KW101 Encryption, KW111 Authentication CWE-523, KW112 Data exposure
CWE-319, KW113 Input validation CWE-924), and counts the one root cause once in the overall
score. The demo's story stays true: seed F, enforce_https variant C, flask_keywire A.
"""

from __future__ import annotations

import json

import httpx
import pytest

from keywire import ScanOptions, parse_target, scan
from keywire._models import Category, Confidence
from keywire.checks._cleartext_demand import credential_demand
from keywire.cli import main
from keywire.lab import LabServer
from keywire.lab.seed import API_KEYS, create_seed_app
from keywire.net.http import HttpResponse
from keywire.rules import RULES
from keywire.scoring import DEDUCTIONS, compute_score, counted_once

FAST = ScanOptions(timeout=3, scan_timeout=60)


@pytest.fixture(scope="module")
def seed():
    with LabServer(create_seed_app()) as server:
        yield server


def test_the_seed_answers_a_missing_and_a_wrong_key_alike(seed):
    url = f"{seed.url}/v1/resource"
    with httpx.Client() as client:
        missing = client.get(url)
        wrong = client.get(url, headers={"X-API-Key": "not-a-key"})
        right = client.get(url, headers={"X-API-Key": API_KEYS["client-a"]})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == wrong.json() == {"error": "unauthorized"}
    assert right.status_code == 200 and right.json() == {"data": "sensitive resource"}


def test_the_seed_shows_in_every_category_it_touches(seed):
    report = scan([parse_target(f"{seed.url}/v1/resource")], options=FAST)
    found = {f.rule_id for f in report.findings}
    assert found == {"KW101", "KW111", "KW112", "KW113"}  # no KW110: keys answer alike
    categories = {c.category: c for c in report.score.categories}
    assert categories[Category.ENCRYPTION].score == 100 - DEDUCTIONS[RULES["KW101"].severity]
    assert categories[Category.AUTHENTICATION].score == 65  # KW111, high
    assert categories[Category.AUTHENTICATION].grade == "C"
    assert categories[Category.DATA_EXPOSURE].score == 65  # KW112, high
    assert categories[Category.INPUT_VALIDATION].score == 85  # KW113, medium
    for rule_id, cwe in (("KW111", 523), ("KW112", 319), ("KW113", 924)):
        assert RULES[rule_id].cwe == (cwe,) and RULES[rule_id].root_cause == "KW101"
    # One root cause, one deduction: the overall score counts KW101 only (40 * 35 + 100 * 65) / 100.
    assert report.score.score == 79
    assert report.score.grade == "F"  # the critical cap of KW101


def test_overall_score_counts_a_root_cause_once():
    seed_findings = [
        RULES[rule].finding(target="http://t/", message="m")
        for rule in ("KW101", "KW111", "KW112", "KW113")
    ]
    assert [f.rule_id for f in counted_once(seed_findings, RULES)] == ["KW101"]
    assert (
        compute_score(seed_findings, RULES).score == compute_score(seed_findings[:1], RULES).score
    )
    # Without its root on the same target a consequence counts like any other finding.
    alone = [RULES["KW111"].finding(target="http://t/", message="m")]
    elsewhere = [*alone, RULES["KW101"].finding(target="http://other/", message="m")]
    assert counted_once(alone, RULES) == alone
    assert [f.rule_id for f in counted_once(elsewhere, RULES)] == ["KW111", "KW101"]
    assert compute_score(alone, RULES).score == 100 - round(35 * 35 / 100)


def _response(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()):
    return HttpResponse(
        url="http://api.test/v1",
        method="GET",
        probe="t",
        status=status,
        reason="",
        headers=headers,
        body=body,
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.0,
    )


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_response(401, b'{"error": "unauthorized"}'), Confidence.HIGH),
        (_response(200, headers=(("WWW-Authenticate", 'Bearer realm="api"'),)), Confidence.HIGH),
        (_response(403, b'{"error": "invalid API key"}'), Confidence.MEDIUM),
        (_response(400, b"missing access_token parameter"), Confidence.MEDIUM),
        # near-misses: refusals, as the BCP asks, and answers that ask for nothing
        (_response(403, b'{"error": "use https"}'), None),
        (_response(403, b"API keys are refused over cleartext; use https://"), None),
        (_response(403, b"<h1>403 Forbidden</h1>"), None),
        (_response(200, b'{"data": "public"}'), None),
        (_response(404, b"no such key"), None),
    ],
)
def test_what_counts_as_asking_for_credentials(response, expected):
    demand = credential_demand(response)
    assert (demand[1] if demand else None) is expected


def test_the_demo_story_stays_true(runner):
    """seed F, enforce_https C, flask_keywire A; the demo exits 1, as CI would on the seed."""
    result = runner.invoke(main, ["demo", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    seed, redirect, hardened = document["targets"]
    assert seed["score"]["grade"] == "F"
    assert {f["rule_id"] for f in seed["findings"]} == {"KW101", "KW111", "KW112", "KW113"}
    assert redirect["score"]["grade"] == "C"
    assert not {"KW111", "KW112", "KW113"} & {f["rule_id"] for f in redirect["findings"]}
    assert hardened["score"]["grade"] == "A" and hardened["findings"] == []
    assert "F → A" in result.stderr
    assert "gate failed" in result.stderr
