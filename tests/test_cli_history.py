"""The store from the command line: scan records, history, diff, report; bad stores refused."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from keywire.cli import main
from keywire.store import Store

from .htmlcheck import SCRIPT
from .test_cli import scan_args


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def two_scans(runner, lab_api, tmp_path):
    """An API scanned twice into a store; HSTS dropped in between."""
    api = lab_api()
    db = tmp_path / "kw.db"
    assert runner.invoke(main, scan_args(api, "--store", str(db))).exit_code == 0
    api.behaviour.hsts = None
    result = runner.invoke(main, scan_args(api, "--store", str(db), "--fail-on", "none"))
    assert result.exit_code == 0, result.stderr
    return api, db


def test_scan_records_and_history_shows_it(runner, two_scans):
    api, db = two_scans
    url = api.https.url + "/v1/resource"
    result = runner.invoke(main, ["history", "--store", str(db)])
    assert result.exit_code == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith(url)]
    assert line.split()[1:3] == ["B", "95"] and line.endswith("A B")
    detail = runner.invoke(main, ["history", url, "--store", str(db), "--format", "json"])
    document = json.loads(detail.stdout)
    [target] = document["targets"]
    assert [r["scan_id"] for r in target["results"]] == [2, 1]
    assert target["results"][0]["findings"]["medium"] == 1
    assert target["results"][1]["grade"] == "A"


def test_second_scan_report_carries_the_time_rules(runner, lab_api, tmp_path):
    api = lab_api()
    db = tmp_path / "kw.db"
    runner.invoke(main, scan_args(api, "--store", str(db)))
    api.behaviour.hsts = None
    result = runner.invoke(
        main, scan_args(api, "--store", str(db), "--format", "json", "--fail-on", "none")
    )
    rules = [f["rule_id"] for t in json.loads(result.stdout)["targets"] for f in t["findings"]]
    assert "KW631" in rules and "KW140" in rules
    with Store.open(db) as store, store.transaction() as tx:
        [latest] = tx.latest_results()
        assert {f.rule_id for f in latest.findings} >= {"KW140", "KW631"}


def test_diff_formats_and_fail_on(runner, two_scans):
    _, db = two_scans
    text = runner.invoke(main, ["diff", "--store", str(db)])
    assert text.exit_code == 0 and "new (1):" in text.stdout and "KW140" in text.stdout
    assert "(dropped)" in text.stdout
    document = json.loads(
        runner.invoke(main, ["diff", "1", "2", "--store", str(db), "--format", "json"]).stdout
    )
    assert [f["rule_id"] for f in document["targets"][0]["new"]] == ["KW140"]
    markdown = runner.invoke(main, ["diff", "--store", str(db), "--format", "markdown"])
    assert markdown.stdout.startswith("## keywire diff")
    failing = runner.invoke(main, ["diff", "--store", str(db), "--fail-on", "medium"])
    assert failing.exit_code == 1 and "1 new finding(s) at or above medium" in failing.stderr
    assert runner.invoke(main, ["diff", "--store", str(db), "--fail-on", "high"]).exit_code == 0
    missing = runner.invoke(main, ["diff", "7", "--store", str(db)])
    assert missing.exit_code == 2 and "no scan 7" in missing.stderr


def test_report_writes_the_fleet_page(runner, two_scans, tmp_path):
    _, db = two_scans
    out = tmp_path / "fleet.html"
    result = runner.invoke(main, ["report", "--store", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    page = out.read_text()
    assert "keywire fleet overview" in page and "Newest regressions" in page and "KW140" in page
    document = json.loads(
        runner.invoke(main, ["report", "--store", str(db), "--format", "json"]).stdout
    )
    assert document["targets"][0]["grade"] != "A"


def test_the_default_store_and_no_store(runner, lab_api, tmp_path, monkeypatch):
    api = lab_api()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert runner.invoke(main, scan_args(api)).exit_code == 0
    default = tmp_path / "data" / "keywire" / "keywire.db"
    assert default.is_file()
    assert runner.invoke(main, scan_args(api, "--no-store")).exit_code == 0
    history = runner.invoke(main, ["history"])
    assert history.exit_code == 0 and history.stdout.count(api.https.url) == 1
    with Store.open(default) as store, store.transaction() as tx:
        assert len(tx.scans()) == 1
    both = runner.invoke(main, scan_args(api, "--no-store", "--store", str(default)))
    assert both.exit_code == 2


def test_an_unusable_default_location_warns_and_scans(runner, lab_api, tmp_path, monkeypatch):
    api = lab_api()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    result = runner.invoke(main, scan_args(api))
    assert result.exit_code == 0, result.stderr
    assert "warning: the scan is not recorded" in result.stderr


@pytest.mark.parametrize("damage", ["garbage", "newer"])
def test_a_bad_store_is_exit_2_before_any_traffic_and_untouched(runner, lab_api, tmp_path, damage):
    api = lab_api()
    db = tmp_path / "kw.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database " * 100)
    else:
        Store.open(db).close()
        connection = sqlite3.connect(db)
        connection.execute("PRAGMA user_version = 99")
        connection.commit()
        connection.close()
    before = digest(db)
    seen_before = len(api.behaviour.seen)
    for args in (
        scan_args(api, "--store", str(db)),
        ["history", "--store", str(db)],
        ["diff", "--store", str(db)],
        ["report", "--store", str(db)],
        ["watch", api.https.url + "/v1/resource", "--store", str(db), "--once"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith("keywire: error: ") and "left as it is" in result.stderr
        assert result.stdout == ""
    assert len(api.behaviour.seen) == seen_before  # refused before scanning
    assert digest(db) == before


def test_readers_need_an_existing_store(runner, tmp_path):
    result = runner.invoke(main, ["history", "--store", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "there is no store" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_history_of_an_unknown_target(runner, two_scans):
    _, db = two_scans
    result = runner.invoke(main, ["history", "https://nowhere.test/", "--store", str(db)])
    assert result.exit_code == 2 and "no result for https://nowhere.test/" in result.stderr


def test_hostile_text_in_history_is_escaped_on_the_console(runner, lab_api, tmp_path):
    api = lab_api(hsts=None)
    db = tmp_path / "kw.db"
    runner.invoke(main, scan_args(api, "--store", str(db), "--fail-on", "none"))
    with Store.open(db) as store, store.transaction(write=True) as tx:
        [result] = tx.latest_results()
        tx._db.execute("UPDATE results SET error = ?", (f"\x1b[2J{SCRIPT}",))
        tx._db.execute("UPDATE results SET answered = 0")
    out = runner.invoke(main, ["history", result.target, "--store", str(db)]).stdout
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_a_fleet_scan_is_recorded_whole_across_batches(runner, tmp_path, monkeypatch):
    """The targets are recorded a batch per transaction: every one, however the batches fall."""
    from keywire.cli import _fleet
    from labs.fleet import FleetServer

    monkeypatch.setattr(_fleet, "_RECORD_BATCH", 2)
    db = tmp_path / "kw.db"
    with FleetServer() as fleet:
        urls = [f"{fleet.url}/t{n}" for n in range(5)]
        args = ["scan", *urls, "--store", str(db), "--workers", "1", "--fail-on", "none"]
        result = runner.invoke(main, [*args, "--format", "json", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.stderr
    with Store.open(db) as store, store.transaction() as tx:
        (scan,) = tx.scans()
        assert scan.finished_at is not None
        assert tx.scanned_in(scan.id) == set(urls)
