"""keywire history and keywire diff as text, JSON and Markdown: right content, nothing live."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from markdown_it import MarkdownIt

from keywire.history.diff import DiffError, select
from keywire.history.render import TargetHistory, render_history, schema
from keywire.history.render_diff import render_diff
from keywire.store import Store

from ..htmlcheck import SCRIPT
from .fleet_data import BAD, DOWN, GOOD, hostile_store


@pytest.fixture
def store(tmp_path):
    with Store.open(hostile_store(tmp_path / "kw.db")) as store:
        yield store


def histories(store, *targets, limit=20):
    with store.transaction() as tx:
        urls = targets or [t.url for t in tx.targets()]
        counts = {t.url: t.results for t in tx.targets()}
        return [
            TargetHistory(target=u, results=tuple(tx.history(u, limit=limit)), total=counts[u])
            for u in urls
        ]


def test_default_diff_compares_each_targets_last_two_results(store):
    with store.transaction() as tx:
        diff = select(tx, [])
    by = {t.target: t for t in diff.targets}
    assert [f.rule_id for f in by[BAD].new] == ["KW101", "KW140"]
    assert by[BAD].grade_change == "dropped" and len(by[BAD].certificates_replaced) == 1
    assert not by[GOOD].changed
    assert by[DOWN].before is not None and not by[DOWN].after.answered


def test_diff_of_named_scans(store):
    with store.transaction() as tx:
        one = select(tx, [5])
        two = select(tx, [1, 5], targets=[BAD])
        with pytest.raises(DiffError, match="no scan 99"):
            select(tx, [1, 99])
    assert {t.target: t.before.scan_id for t in one.targets} == {BAD: 4, DOWN: 4, GOOD: 4}
    [bad] = two.targets
    assert bad.before.scan_id == 1 and bad.after.scan_id == 5


def test_diff_text(store):
    with store.transaction() as tx:
        text = render_diff(select(tx, []), "console")
    assert "https://bad.example.test/api: grade A- → C (dropped), score 91 → 55" in text
    assert "new (2):" in text and "HIGH     KW101" in text
    assert "certificate replaced: CN=<script>" in text
    assert "2 new, 0 fixed" in text
    assert "\x1b" not in text and "\u202e" not in text


def test_diff_json(store):
    with store.transaction() as tx:
        document = json.loads(render_diff(select(tx, []), "json"))
        jsonschema.validate(json.loads(render_diff(select(tx, [1, 5]), "json")), schema("diff"))
    jsonschema.validate(document, schema("diff"))
    assert document["schema_version"] == "1.0" and document["kind"] == "keywire-diff"
    assert document["summary"]["new"] == 2 and document["summary"]["grade_dropped"] == 1
    bad = next(t for t in document["targets"] if t["target"] == BAD)
    assert [f["rule_id"] for f in bad["new"]] == ["KW101", "KW140"]
    assert bad["new"][0]["location"].startswith(SCRIPT)  # exact data, as JSON reports keep it
    assert bad["before"]["grade"] == "A-" and bad["after"]["grade"] == "C"


def test_diff_markdown_is_inert(store):
    with store.transaction() as tx:
        text = render_diff(select(tx, []), "markdown")
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in rendered.lower() and "<img" not in rendered.lower()
    assert "&lt;script&gt;" in rendered and "<details>" in rendered and "<table>" in rendered
    assert text.startswith("## keywire diff: the last two scans of each target")
    prose = re.sub(r"(`+).*?\1", "", text)  # code spans are literal text on GitHub
    assert "<script>" not in prose and "<img" not in prose
    assert "&lt;script&gt;" in text
    assert (
        "| `https://bad.example.test/api` | grade A- → C (dropped), score 91 → 55 | 2 | 0 |" in text
    )
    assert "| `https://down.example.test/` | did not answer, nor at the scan before |" in text
    assert "<details>" in text and "**HIGH** KW101" in text


def test_history_one_target_in_detail_and_all_targets_in_one_line_each(store):
    text = render_history(histories(store, BAD), "console", detailed=True)
    assert f"{BAD}: 5 result(s)" in text
    lines = [line for line in text.splitlines() if line.strip().startswith(("5 ", "1 "))]
    assert lines[0].split()[3:5] == ["C", "55"] and "1 high, 1 medium, 1 low" in lines[0]
    text = render_history(histories(store), "console", detailed=False)
    assert "A- A- A- A- C" in text and "B B B x x" in text
    short = render_history(histories(store, BAD, limit=2), "console", detailed=True)
    assert "5 result(s), the newest 2 shown" in short


def test_history_json_and_markdown(store):
    document = json.loads(render_history(histories(store, DOWN), "json", detailed=True))
    jsonschema.validate(document, schema("history"))
    jsonschema.validate(
        json.loads(render_history(histories(store), "json", detailed=False)), schema("history")
    )
    [target] = document["targets"]
    assert target["results_total"] == 5
    assert [r["answered"] for r in target["results"]] == [False, False, True, True, True]
    assert SCRIPT in target["results"][0]["error"]
    text = render_history(histories(store), "markdown", detailed=False)
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in rendered.lower() and "<table>" in rendered
    assert "<script>" not in text and "| `https://good.example.test/v1` | A | 96 |" in text
    assert render_history([], "console", detailed=False).startswith("The store holds no scans")
