"""Targets files (-i FILE): comments, blank lines, duplicates, and bad lines reported by number."""

from __future__ import annotations

import io

import pytest

from keywire.targetsfile import TargetsFileError, parse_targets, read_targets

TEXT = """\ufeff# production APIs
https://api.example.test/v1

https://API.example.test:443/v1   # the same, spelt differently
  http://legacy.example.test:8080/  \t
not a url
https://user:hunter2-secret@api.example.test/
ftp://files.example.test/
https://api.example.test/v1?api_key=sk_live_0123456789abcdef
\thttps://second.example.test/#frag # trailing comment
"""


def test_parse_keeps_order_dedups_and_reports_bad_lines_by_number():
    parsed = parse_targets(TEXT, source="fleet.txt")
    assert parsed.targets == (
        "https://api.example.test/v1",
        "http://legacy.example.test:8080/",
        "https://second.example.test/",
    )
    assert parsed.duplicates == 1
    assert [bad.line for bad in parsed.bad] == [6, 7, 8, 9]
    problems = parsed.problems()
    assert problems[0].startswith("fleet.txt:6: ") and problems[0].endswith("; skipped")
    text = "\n".join(problems)
    assert "hunter2-secret" not in text and "sk_live_0123456789abcdef" not in text


def test_read_from_file_and_stdin(tmp_path):
    path = tmp_path / "targets.txt"
    path.write_text("https://a.test/\r\nhttps://b.test/\r\n", encoding="utf-8")
    assert read_targets(str(path)).targets == ("https://a.test/", "https://b.test/")
    parsed = read_targets("-", stdin=io.BytesIO(b"# x\nhttps://c.test/\n"))
    assert parsed.targets == ("https://c.test/",) and parsed.source == "stdin"


def test_unreadable_files_are_errors(tmp_path):
    with pytest.raises(TargetsFileError, match="cannot read"):
        read_targets(str(tmp_path / "missing.txt"))
    with pytest.raises(TargetsFileError, match="cannot read"):
        read_targets(str(tmp_path))
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"https://a.test/\x00\x01")
    with pytest.raises(TargetsFileError, match="not text"):
        read_targets(str(binary))


def test_an_overlong_line_is_a_bad_line_not_an_error():
    parsed = parse_targets("https://a.test/" + "x" * 9000 + "\nhttps://b.test/\n")
    assert parsed.targets == ("https://b.test/",)
    assert parsed.bad[0].line == 1 and "longer than" in parsed.bad[0].reason
