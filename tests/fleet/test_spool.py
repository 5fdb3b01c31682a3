"""The spool keeps a small run's records in memory and spills a large one's to a temporary file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keywire.fleet._spool import Spool, read_resume


def _line(url: str, size: int = 10) -> str:
    record = {"record": "target", "schema_version": "1.0", "target": url, "pad": "x" * size}
    return json.dumps(record) + "\n"


def test_a_small_run_keeps_its_records_in_memory() -> None:
    spool = Spool(None)
    for number in range(5):
        spool.write(_line(f"https://api{number}.test/"), f"https://api{number}.test/")
    spool.write(_line("https://api1.test/", 20), "https://api1.test/")  # a newer record
    assert spool.path is None  # no file at all
    records = list(spool.records(order=lambda url: url))
    assert [r["target"] for r in records] == [f"https://api{n}.test/" for n in range(5)]
    assert len(records[1]["pad"]) == 20  # the latest record of each target
    spool.discard()


def test_a_large_run_spills_to_a_temporary_file_and_removes_it(tmp_path: Path) -> None:
    spool = Spool(None, spill_bytes=1000)
    urls = [f"https://api{n}.test/" for n in range(30)]
    for url in urls[:3]:
        spool.write(_line(url, 100), url)
    assert spool.path is None
    for url in urls[3:]:
        spool.write(_line(url, 100), url)
    assert spool.path is not None and Path(spool.path).is_file()
    on_disk = Path(spool.path).read_bytes().splitlines()
    assert [json.loads(line)["target"] for line in on_disk] == urls  # nothing lost in the spill
    assert [r["target"] for r in spool.records()] == urls
    path = spool.path
    spool.discard()
    assert not Path(path).exists()


def test_a_named_stream_is_written_as_it_goes_and_kept(tmp_path: Path) -> None:
    stream = tmp_path / "run.jsonl"
    spool = Spool(str(stream))
    spool.write(_line("https://a.test/"), "https://a.test/")
    assert stream.read_text() == _line("https://a.test/")  # flushed per record
    spool.discard()
    assert stream.exists()
    resumed = Spool(str(stream), resume=read_resume(str(stream)))
    resumed.write(_line("https://b.test/"), "https://b.test/")
    assert [r["target"] for r in resumed.records()] == ["https://a.test/", "https://b.test/"]
    resumed.close()


@pytest.mark.parametrize("spill_bytes", [0, 1, 10**9])
def test_records_read_back_the_same_wherever_they_are(spill_bytes: int) -> None:
    spool = Spool(None, spill_bytes=spill_bytes)
    lines = {f"https://api{n}.test/": _line(f"https://api{n}.test/", n) for n in range(10)}
    for url, line in lines.items():
        spool.write(line, url)
    spool.write(json.dumps({"record": "summary", "schema_version": "1.0"}) + "\n", None)
    assert [json.dumps(r) + "\n" for r in spool.records()] == list(lines.values())
    spool.discard()
