"""Every HTTP check against real servers on loopback: a positive case and a near-miss each.

Each case starts the lab API (HTTPS side with a trustme certificate, cleartext side on another
port) with one behaviour switched on or off, scans it, and compares the rule IDs found.
"""

from __future__ import annotations

import zlib

import pytest

from keywire import Severity
from keywire.secrets.catalogue import base62_encode

from .conftest import rule_ids


def github_token(random_part: str = "a" * 10 + "B" * 10 + "c9" * 5) -> str:
    return "ghp_" + random_part + base62_encode(zlib.crc32(random_part.encode()), 6)


PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbeVw4cXPDNz7PL2J\n"
    "ADJWn8ivTp39uWoyoKDQdzV2Kw2hRANCAAQ4Hn6VTX2ZdPcxoBGrYbuFrDXr2L5N\n"
    "-----END PRIVATE KEY-----"
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkxhYiJ9."
    "c2lnbmF0dXJlLW5vdC1yZWFsLWJ1dC1zaGFwZWQ"
)

# (case id, behaviour fields, rules that must be found, rules that must not be found)
CASES = [
    ("conformant", {}, set(), "all"),
    ("KW101 cleartext serves", {"refuse_cleartext": False}, {"KW101"}, {"KW110"}),
    (
        "KW110 cleartext validates",
        {"refuse_cleartext": False, "missing_vs_invalid": True},
        {"KW101", "KW110"},
        set(),
    ),
    ("KW102 redirect", {"redirect_cleartext": 301}, {"KW102"}, {"KW101", "KW104", "KW103"}),
    ("KW104 temporary redirect", {"redirect_cleartext": 302}, {"KW102", "KW104"}, {"KW103"}),
    (
        "KW103 redirect elsewhere",
        {"redirect_cleartext": 301, "redirect_location": "https://localhost/v1/resource"},
        {"KW103"},
        {"KW104"},
    ),
    ("KW140 no HSTS", {"hsts": None}, {"KW140"}, {"KW141", "KW143", "KW144"}),
    ("KW141 malformed HSTS", {"hsts": "max-age=forever"}, {"KW141"}, {"KW140"}),
    ("KW142 HSTS zero", {"hsts": "max-age=0; includeSubDomains"}, {"KW142"}, {"KW143"}),
    ("KW143 HSTS short", {"hsts": "max-age=86400; includeSubDomains"}, {"KW143"}, {"KW144"}),
    ("KW144 HSTS no subdomains", {"hsts": "max-age=63072000"}, {"KW144"}, {"KW143"}),
    (
        "KW145 HSTS over HTTP only",
        {"hsts": None, "hsts_over_http": "max-age=63072000"},
        {"KW145", "KW140"},
        set(),
    ),
    (
        "KW150 X-Forwarded-Proto trusted",
        {"redirect_cleartext": 301, "trust_forwarded": ("X-Forwarded-Proto",)},
        {"KW150"},
        {"KW101"},
    ),
    (
        "KW150 Forwarded trusted",
        {"refuse_cleartext": True, "trust_forwarded": ("Forwarded",)},
        {"KW150"},
        {"KW101"},
    ),
    ("KW130 Basic", {"www_authenticate": ('Basic realm="api"',)}, {"KW130"}, {"KW131", "KW133"}),
    (
        "KW131 Basic over HTTP",
        {"www_authenticate": ('Basic realm="api"',), "refuse_cleartext": False},
        {"KW131", "KW130", "KW101"},
        set(),
    ),
    (
        "KW132 Digest MD5",
        {"www_authenticate": ('Digest realm="api", nonce="abc", qop="auth"',)},
        {"KW132"},
        {"KW130"},
    ),
    (
        "KW132 near-miss Digest SHA-256",
        {"www_authenticate": ('Digest realm="api", nonce="abc", algorithm=SHA-256',)},
        set(),
        {"KW132", "KW133"},
    ),
    (
        "KW133 Basic beside Bearer",
        {"www_authenticate": ('Bearer realm="api"', 'Basic realm="api"')},
        {"KW133", "KW130"},
        set(),
    ),
    ("KW120 query key", {"query_key": True, "missing_vs_invalid": True}, {"KW120"}, set()),
    ("KW120 near-miss header-only keys", {"missing_vs_invalid": True}, set(), {"KW120"}),
    (
        "KW160 cookie without Secure",
        {"cookies": ("session=abc123; Path=/",)},
        {"KW160", "KW162"},
        {"KW161"},
    ),
    (
        "KW160 near-miss secure cookie",
        {"cookies": ("session=abc123; Path=/; Secure; HttpOnly; SameSite=Lax",)},
        set(),
        {"KW160", "KW161", "KW162"},
    ),
    (
        "KW161 cookie over HTTP",
        {"cookies": ("prefs=dark; Path=/; Secure",), "refuse_cleartext": False},
        {"KW161"},
        {"KW160", "KW162"},
    ),
    (
        "KW162 near-miss csrf cookie",
        {"cookies": ("csrftoken=abc; Secure; Path=/",)},
        set(),
        {"KW162"},
    ),
    (
        "KW170 http link in JSON",
        {"require_key": False, "body": {"next": "http://127.0.0.1/v1/items?page=2"}},
        {"KW170"},
        set(),
    ),
    (
        "KW170 near-miss schema URI and https link",
        {
            "require_key": False,
            "body": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "next": "https://127.0.0.1/v1/items?page=2",
                "ns": "http://www.w3.org/2000/svg",
            },
        },
        set(),
        {"KW170"},
    ),
    (
        "KW170 Link header",
        {"extra_headers": (("Link", '<http://127.0.0.1/v1/items?page=2>; rel="next"'),)},
        {"KW170"},
        set(),
    ),
    (
        "KW701 GitHub token",
        {"require_key": False, "body": {"debug": {"token": github_token()}}},
        {"KW701"},
        set(),
    ),
    (
        "KW701 near-miss GitHub checksum wrong",
        {"require_key": False, "body": {"token": github_token()[:-1] + "x"}},
        set(),
        {"KW701"},
    ),
    ("KW702 private key", {"require_key": False, "body_text": PEM}, {"KW702"}, set()),
    (
        "KW702 near-miss PEM template",
        {
            "require_key": False,
            "body_text": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        },
        set(),
        {"KW702"},
    ),
    ("KW703 JWT", {"require_key": False, "body": {"session": JWT}}, {"KW703"}, set()),
    (
        "KW703 near-miss not a JWT",
        {"require_key": False, "body": {"session": "eyJub3QiOiJqd3QifQ.eyJhYmMiOjF9x"}},
        set(),
        {"KW703"},
    ),
]


@pytest.mark.parametrize(("case", "fields", "expected", "absent"), CASES, ids=[c[0] for c in CASES])
def test_check_against_lab(lab_api, case, fields, expected, absent):
    api = lab_api(**fields)
    report = api.scan()
    found = rule_ids(report)
    assert expected <= found, f"{case}: expected {expected}, found {found}"
    if absent == "all":
        assert found == set(), f"{case}: expected no finding, found {found}"
    else:
        assert not (found & absent), f"{case}: unexpected {found & absent}"
    assert report.complete, [o for o in report.outcomes if o.status.value == "error"]


def test_https_downgrade_redirect(lab_api):
    """KW105: the HTTPS side redirects to cleartext."""
    api = lab_api()
    api.behaviour.https_redirect_to = f"http://127.0.0.1:{api.http.port}/v1/other"
    assert "KW105" in rule_ids(api.scan())


def test_https_redirect_to_https_is_fine(lab_api):
    api = lab_api()
    api.behaviour.https_redirect_to = f"https://127.0.0.1:{api.https.port}/v1/other"
    found = rule_ids(api.scan())
    assert "KW105" not in found
    assert "KW106" not in found


def test_redirect_loop_is_bounded(lab_api):
    """KW106: a redirect to itself ends as a finding, not a hang."""
    api = lab_api(redirect_cleartext=301)
    api.behaviour.redirect_location = f"http://127.0.0.1:{api.http.port}/v1/resource"
    report = api.scan(side="http")
    assert "KW106" in rule_ids(report)
    assert report.duration_s < 10


def test_conformant_api_gets_no_medium_or_worse_and_grade_a(lab_api):
    """Issue 2: HTTP answering 403 to everything, HTTPS with HSTS of two years."""
    report = lab_api().scan()
    assert all(f.severity < Severity.MEDIUM for f in report.findings)
    assert report.score is not None
    assert report.score.grade == "A"
    assert report.score.score == 100


def test_seed_app_is_critical_and_f():
    """Issue 2: the seed's app gives a critical CWE-319 finding and grade F."""
    from keywire import scan
    from keywire.lab import LabServer
    from keywire.lab.seed import create_seed_app

    with LabServer(create_seed_app()) as server:
        report = scan(server.url + "/v1/resource")
    critical = [f for f in report.findings if f.severity is Severity.CRITICAL]
    assert any(f.rule_id == "KW101" for f in critical)
    assert report.score is not None
    assert report.score.grade == "F"
