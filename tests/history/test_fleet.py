"""The fleet overview: grades, trends, expiring certificates, regressions; inert, self-contained,
and clean in a real browser."""

from __future__ import annotations

import json
import re
from html import unescape

import jsonschema
import pytest

from keywire.history.fleet import build_fleet, render_fleet, sparkline
from keywire.history.render import schema
from keywire.store import Store

from ..htmlcheck import IMG, SCRIPT
from ..htmlcheck import parse as parse_html
from ..reporters.chromium import chromium_path, open_page
from .fleet_data import BAD, DOWN, GOOD, NOW, hostile_store


@pytest.fixture
def fleet(tmp_path):
    with Store.open(hostile_store(tmp_path / "kw.db")) as store, store.transaction() as tx:
        return build_fleet(tx, now=NOW)


def test_overview_content(fleet):
    assert [r.target for r in fleet.rows] == [DOWN, BAD, GOOD]  # worst first
    bad = fleet.rows[1]
    assert bad.latest.grade == "C" and [s for _, s in bad.series] == [91, 91, 91, 91, 55]
    assert [c.target for c in fleet.expiring][:1] == [BAD]
    assert 2 <= fleet.expiring[0].days_left <= 3
    kinds = [(r.target, r.finding.rule_id if r.finding else "grade") for r in fleet.regressions]
    assert kinds == [(BAD, "grade"), (BAD, "KW101"), (BAD, "KW140")]
    assert fleet.scans == 5
    assert dict(fleet.grade_counts()) == {"A": 1, "C": 1, "x": 1}


def test_json_form(fleet):
    document = json.loads(render_fleet(fleet, "json"))
    jsonschema.validate(document, schema("fleet"))
    assert document["schema_version"] == "1.0" and document["kind"] == "keywire-fleet"
    by_target = {t["target"]: t for t in document["targets"]}
    assert by_target[DOWN]["answered"] is False
    assert [p["score"] for p in by_target[DOWN]["trend"]] == [85, 85, 85, None, None]
    assert document["expiring_certificates"][0]["days_left"] in (2, 3)
    assert document["regressions"][0] == {
        "target": BAD,
        "at": document["regressions"][0]["at"],
        "kind": "grade",
        "previous_grade": "A-",
        "grade": "C",
    }


def test_sparkline_has_gaps_where_the_target_did_not_answer():
    points = [(NOW, 90), (NOW, 80), (NOW, None), (NOW, 100)]
    spark = sparkline(points)
    assert len(spark["segments"]) == 2
    assert spark["segments"][0].count(",") == 2
    assert spark["last"] is not None and spark["label"].endswith("90, 80, 100")
    assert sparkline([])["segments"] == [] and sparkline([])["label"] == "no score yet"


def test_html_is_inert_and_self_contained(fleet):
    page = render_fleet(fleet, "html")
    parsed = parse_html(page)
    assert not {"script", "img", "link", "iframe", "object", "embed", "base", "form"} & set(
        parsed.tags
    )
    assert not [name for name, _ in parsed.attrs if name.startswith("on")]
    assert not re.search(r"<\s*script", page, re.I)
    text = "".join(parsed.text)
    assert SCRIPT in text and IMG in text  # the planted markup is there, as text
    assert "\x1b" not in page and "\u202e" not in page  # control characters shown as escapes
    assert "\\x1b[2J" in text and "\\u202e" in text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "default-src 'none'" in unescape(csp[1])
    assert "url(" not in page and "@import" not in page
    for section in ("APIs", "Certificates expiring soonest", "Newest regressions"):
        assert f"<h2>{section}</h2>" in page
    assert page.count('class="spark"') == 3 and "<polyline" in page


def test_empty_store_renders(tmp_path):
    with Store.open(tmp_path / "kw.db") as store, store.transaction() as tx:
        fleet = build_fleet(tx, now=NOW)
    page = render_fleet(fleet, "html")
    assert "The store holds no scans yet" in page


@pytest.mark.tools
def test_fleet_page_renders_in_chromium(fleet, tmp_path, require_tools):
    if chromium_path() is None:
        if require_tools:
            pytest.fail("chromium is required (KEYWIRE_REQUIRE_TOOLS=1) but not installed")
        pytest.skip("chromium not installed")
    path = tmp_path / "fleet.html"
    path.write_text(render_fleet(fleet, "html"), encoding="utf-8")
    run = open_page(path, screenshot=True)
    assert run.loaded
    assert run.errors == []
    assert run.requests == [path.resolve().as_uri()]
    assert SCRIPT in run.text and "keywire fleet overview" in run.text
    assert run.screenshot.startswith(b"\x89PNG")
