"""The SQLite store: round trips, migrations, and files it must refuse without touching them."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from keywire._models import Severity
from keywire.store import SCHEMA_VERSION, Store, StoreError, default_path, record_report
from keywire.store._schema import MIGRATIONS

from ..history.make import T0, cert, fact, snap


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _scan(tx, at=T0):
    return tx.begin_scan(started_at=at, tool_version="test", source="scan")


def test_round_trip_of_a_result(tmp_path):
    finding = fact("KW140", Severity.MEDIUM, location="h", message="no HSTS \u202e")
    finding = type(finding)(**{**finding.__dict__, "evidence": (("header", "max-age=0"),)})
    original = snap(finding, grade="B", score=85, certs=(cert("leaf"), cert("ca", position=1)))
    with Store.open(tmp_path / "kw.db") as store:
        with store.transaction(write=True) as tx:
            recorded = tx.record(_scan(tx), original)
        with store.transaction() as tx:
            [back] = tx.history(original.target)
    assert recorded.result_id == back.result_id and back.scan_id == recorded.scan_id
    assert back.findings == original.findings
    with Store.open(tmp_path / "kw.db") as store, store.transaction() as tx:
        [bare] = tx.history(original.target, evidence=False)
    assert bare.findings[0].evidence == () and bare.findings[0].message == finding.message
    assert back.certificates == original.certificates
    assert dict(back.checks) == dict(original.checks)
    assert (back.grade, back.score, back.answered, back.scanned_at) == ("B", 85, True, T0)


def test_history_queries(tmp_path):
    with Store.open(tmp_path / "kw.db") as store:
        for day, grade in enumerate(["A", "B", "C"]):
            with store.transaction(write=True) as tx:
                at = T0 + timedelta(days=day)
                sid = _scan(tx, at)
                tx.record(sid, snap(grade=grade, score=90 - 10 * day, at=at))
                tx.record(sid, snap(grade="A", at=at, target="https://other.test/"))
        with store.transaction() as tx:
            history = tx.history("https://api.example.test/v1")
            assert [s.grade for s in history] == ["C", "B", "A"]
            assert tx.latest(history[0].target, before=history[0].result_id).grade == "B"
            assert [s.target for s in tx.results_of_scan(2)] == [
                "https://api.example.test/v1",
                "https://other.test/",
            ]
            assert [s.grade for s in tx.latest_results()] == ["C", "A"]
            assert [score for _, score in tx.score_series(history[0].target)] == [90, 80, 70]
            assert [t.results for t in tx.targets()] == [3, 3]
            assert [s.id for s in tx.scans()] == [3, 2, 1]
            assert tx.scanned_in(3) == {"https://api.example.test/v1", "https://other.test/"}
            newest = tx.newest(per_target=2)
            assert {url: [s.grade for s in found] for url, found in newest.items()} == {
                "https://api.example.test/v1": ["C", "B"],
                "https://other.test/": ["A", "A"],
            }
            series = tx.score_series_all(limit=2)
            assert [score for _, score in series["https://api.example.test/v1"]] == [80, 70]
            assert tx.scan_count() == 3


def test_recording_a_target_again_in_the_same_scan_replaces_it(tmp_path):
    with Store.open(tmp_path / "kw.db") as store:
        with store.transaction(write=True) as tx:
            sid = _scan(tx)
            tx.record(sid, snap(fact("KW140"), grade="B"))
            tx.record(sid, snap(grade="A"))
        with store.transaction() as tx:
            [only] = tx.history("https://api.example.test/v1")
            assert only.grade == "A" and only.findings == ()


def test_new_store_is_versioned_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "dir" / "kw.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        with store.transaction(write=True) as tx:
            tx.record(_scan(tx), snap())
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it lists every API's weaknesses
        assert stat.S_IMODE(Path(f"{path}-wal").stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA application_id").fetchone()[0] == 0x4B575354
    connection.close()


def _populated(tmp_path) -> Path:
    path = tmp_path / "kw.db"
    with Store.open(path) as store:
        for day in range(40):
            with store.transaction(write=True) as tx:
                sid = _scan(tx)
                tx.record(
                    sid,
                    snap(
                        *(fact(f"KW1{n:02d}", location=str(day)) for n in range(20)),
                        certs=(cert(f"c{day}"),),
                    ),
                )
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    return path


def test_a_newer_store_is_refused_and_left_untouched(tmp_path):
    path = _populated(tmp_path)
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    before = digest(path)
    with pytest.raises(StoreError, match="newer keywire") as caught:
        Store.open(path)
    assert "schema version 2" in str(caught.value) and "upgrade keywire" in str(caught.value)
    assert digest(path) == before


@pytest.mark.parametrize("damage", ["header", "truncated", "page"])
def test_a_corrupt_store_is_refused_and_left_untouched(tmp_path, damage):
    path = _populated(tmp_path)
    data = bytearray(path.read_bytes())
    if damage == "header":
        data[:16] = b"garbage garbage!"
    elif damage == "truncated":
        data = data[: len(data) // 2 + 100]
    else:  # scribble over a b-tree page in the middle, as a bad disk would
        page = 4096 * (len(data) // 4096 // 2)
        data[page : page + 200] = bytes(range(200))
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert ("corrupt" in str(caught.value)) or ("not a SQLite database" in str(caught.value))
    assert "left as it is" in str(caught.value)
    assert digest(path) == before


def _scribble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096 * (len(data) // 4096 // 2)
    data[page : page + 200] = bytes(range(200))
    path.write_bytes(bytes(data))


def test_a_big_store_is_checked_once_a_day_not_at_every_scan(tmp_path, monkeypatch):
    """quick_check reads every page: a store bigger than CHECK_ALWAYS_BYTES is checked when its
    last check is a day old, so a scan's start-up does not grow with months of history."""
    from keywire.store import _db

    path = _populated(tmp_path)
    stamp = path.with_name(path.name + "-checked")
    monkeypatch.setattr(_db, "CHECK_ALWAYS_BYTES", 4096)  # this small store counts as big
    Store.open(path).close()  # checked: the stamp says when
    assert stamp.exists() and stat.S_IMODE(stamp.stat().st_mode) == 0o600
    _scribble(path)
    before = digest(path)
    Store.open(path).close()  # checked less than a day ago: not read page by page
    assert digest(path) == before
    day_ago = stamp.stat().st_mtime - _db.CHECK_INTERVAL_S - 1
    os.utime(stamp, (day_ago, day_ago))
    with pytest.raises(StoreError, match="corrupt"):
        Store.open(path)  # due again: the damage is found before anything is written
    assert digest(path) == before


def test_a_small_store_is_checked_every_time(tmp_path):
    path = _populated(tmp_path)
    assert path.stat().st_size <= 8 << 20
    Store.open(path).close()
    assert not path.with_name(path.name + "-checked").exists()  # no stamp for a small store
    _scribble(path)
    with pytest.raises(StoreError, match="corrupt"):
        Store.open(path)


def test_other_files_are_refused(tmp_path):
    foreign = tmp_path / "app.db"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.commit()
    connection.close()
    before = digest(foreign)
    with pytest.raises(StoreError, match="not a keywire store"):
        Store.open(foreign)
    assert digest(foreign) == before
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store.open(text)
    assert text.read_text() == "hello\n"
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="there is no store"):
        Store.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_migrations_run_in_order_keep_data_and_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "kw.db"
    with Store.open(path) as store, store.transaction(write=True) as tx:
        tx.record(_scan(tx), snap(grade="B"))
    v2 = (*MIGRATIONS, "ALTER TABLE results ADD COLUMN note TEXT NOT NULL DEFAULT 'v2'")
    with Store.open(path, migrations=v2) as store:
        assert store.schema_version == 2
        with store.transaction() as tx:
            assert tx.latest("https://api.example.test/v1").grade == "B"
    note = sqlite3.connect(path).execute("SELECT note FROM results").fetchone()[0]
    assert note == "v2"
    with pytest.raises(StoreError, match="newer keywire"):
        Store.open(path)


def test_a_failing_migration_leaves_the_store_at_its_version(tmp_path):
    path = tmp_path / "kw.db"
    Store.open(path).close()
    broken = (*MIGRATIONS, "CREATE TABLE extra (a INT); INSERT INTO nowhere VALUES (1)")
    with pytest.raises(StoreError):
        Store.open(path, migrations=broken)
    with Store.open(path) as store:
        assert store.schema_version == 1
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables


def test_a_second_store_in_one_process_keeps_the_first_ones_locks(tmp_path):
    """Regression: reading the file's header with open()/close() dropped the POSIX locks of the
    process's other connections; another process then deleted the write-ahead log under them,
    and the watch's writes (its webhook thread opens a second store) vanished."""
    path = tmp_path / "kw.db"
    with Store.open(path) as first:
        with first.transaction(write=True) as tx:
            tx.record(_scan(tx), snap(grade="B"))
        Store.open(path, create=False, check=False).close()  # as the webhook thread does
        peek = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM scans').fetchall(); c.close()"
        subprocess.run([sys.executable, "-c", peek, str(path)], check=True, timeout=60)
        with first.transaction(write=True) as tx:
            tx.record(_scan(tx), snap(grade="C"))
        assert Path(f"{path}-wal").exists()
        reader = sqlite3.connect(path)
        assert reader.execute("SELECT grade FROM results ORDER BY id").fetchall() == [
            ("B",),
            ("C",),
        ]
        reader.close()


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from keywire.store import Store
    from keywire.history.snapshot import Snapshot, FindingFact
    from keywire._models import Severity
    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Store.open(path) as store:
        for i in range(count):
            with store.transaction(write=True) as tx:
                sid = tx.begin_scan(started_at=datetime.now(timezone.utc), tool_version="t", source=name)
                facts = tuple(FindingFact(fingerprint=f"{name}-{i}-{n}", rule_id="KW140", severity=Severity.LOW) for n in range(5))
                tx.record(sid, Snapshot(target=f"https://{name}.test/", scanned_at=datetime.now(timezone.utc), answered=True, grade="A", score=90, findings=facts))
                tx.finish_scan(sid, finished_at=datetime.now(timezone.utc))
    print("ok")
    """
)


def test_concurrent_writers_in_separate_processes(tmp_path):
    path = tmp_path / "kw.db"
    Store.open(path).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", "40"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert out.strip() == "ok"
    with Store.open(path) as store, store.transaction() as tx:
        assert [t.results for t in tx.targets()] == [40, 40, 40, 40]
        assert len(tx.scans(limit=1000)) == 160
        assert all(len(tx.history(t.url, limit=1)[0].findings) == 5 for t in tx.targets())


def test_default_path():
    assert default_path({"KEYWIRE_STORE": "/srv/kw.db", "XDG_DATA_HOME": "/x"}) == Path(
        "/srv/kw.db"
    )
    assert default_path({"XDG_DATA_HOME": "/x", "HOME": "/h"}) == Path("/x/keywire/keywire.db")
    assert default_path({"XDG_DATA_HOME": "rel", "HOME": "/h"}) == Path(
        "/h/.local/share/keywire/keywire.db"
    )
    assert default_path({"HOME": "/h"}) == Path("/h/.local/share/keywire/keywire.db")


def test_record_report_from_a_real_scan_keeps_certificates(tmp_path, lab_api):
    api = lab_api()
    report = api.scan(only=("tls", "hsts"))
    with Store.open(tmp_path / "kw.db") as store:
        scan_id, [_recorded] = record_report(store, report)
        with store.transaction() as tx:
            [back] = tx.results_of_scan(scan_id)
            assert tx.scan(scan_id).finished_at is not None
    assert back.answered and back.grade == report.targets[0].score.grade
    leaf = back.leaves[0]
    assert "localhost" in leaf.subject
    assert "keywire lab CA" in leaf.issuer
    assert len(leaf.sha256) == 64
    assert back.checks == {o.check: o.status.value for o in report.targets[0].outcomes}
    assert back.checks["tls"] == back.checks["hsts"] == "completed"
