"""``keywire scan`` on fleets: targets files, the live JSONL stream, resume, workers, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import jsonschema

from keywire.cli import main
from keywire.reporters import json as json_reporter
from keywire.reporters import jsonl

from .conftest import QUICK, alive, children, ended, keywire, records, targets_of, wait_for


def _slow(seconds: float):
    return lambda path: seconds if path.startswith("/slow") else 0.0


def test_a_targets_file_skips_bad_lines_by_number_and_scans_each_target_once(
    runner, fleet, tmp_path
):
    server = fleet()
    listing = tmp_path / "fleet.txt"
    listing.write_text(
        f"# the fleet\n{server.url}/a\n\nnot a url\n{server.url}/b  # b\n{server.url}/a\n"
        "ftp://x.test/\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["scan", *QUICK, "-i", str(listing), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert f"{listing}:4: " in result.stderr and f"{listing}:7: " in result.stderr
    assert "1 duplicate(s) scanned once" in result.stderr
    document = json.loads(result.stdout)
    assert [t["target"] for t in document["targets"]] == [f"{server.url}/a", f"{server.url}/b"]
    assert server.requests["/a"] >= 1 and server.requests["/c"] == 0


def test_targets_from_stdin_and_from_the_configuration(runner, fleet, tmp_path, monkeypatch):
    server = fleet()
    result = runner.invoke(
        main, ["scan", *QUICK, "-i", "-", "--format", "json"], input=f"{server.url}/in\n"
    )
    assert result.exit_code == 0, result.stderr
    assert [t["target"] for t in json.loads(result.stdout)["targets"]] == [f"{server.url}/in"]

    monkeypatch.chdir(tmp_path)
    (tmp_path / "keywire.toml").write_text(
        f'targets = ["{server.url}/c1", "gopher://x/", "{server.url}/c2"]\nonly = ["cleartext"]\n',
        encoding="utf-8",
    )
    result = runner.invoke(main, ["scan", "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.stderr
    assert "keywire.toml: targets:2: " in result.stderr
    targets = [t["target"] for t in json.loads(result.stdout)["targets"]]
    assert targets == [f"{server.url}/c1", f"{server.url}/c2"]
    # Targets on the command line replace the configuration's.
    result = runner.invoke(main, ["scan", "--format", "json", f"{server.url}/arg"])
    assert [t["target"] for t in json.loads(result.stdout)["targets"]] == [f"{server.url}/arg"]


def test_an_empty_targets_file_is_a_usage_error(runner, tmp_path):
    listing = tmp_path / "empty.txt"
    listing.write_text("# nothing yet\n", encoding="utf-8")
    result = runner.invoke(main, ["scan", "-i", str(listing)])
    assert result.exit_code == 2 and "hold no target URL" in result.stderr
    result = runner.invoke(main, ["scan", "-i", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "cannot read targets file" in result.stderr


def test_jsonl_streams_each_record_the_moment_its_target_ends(fleet, tmp_path):
    server = fleet(delay=_slow(6.0))
    urls = [f"{server.url}/fast{i}" for i in range(8)] + [f"{server.url}/slow"]
    process = keywire("scan", *QUICK, "--format", "jsonl", "--workers", "2", *urls)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert process.poll() is None, "the first record came only at the end"
        assert server.requests["/slow"] >= 1
        record = json.loads(first)
        assert record["record"] == "target" and "/fast" in record["target"]
        rest, _err = process.communicate(timeout=60)
    finally:
        ended(process)
    lines = [first, *rest.splitlines()]
    validator = jsonschema.Draft202012Validator(jsonl.schema())
    parsed = [json.loads(line) for line in lines]
    for record in parsed:
        validator.validate(record)
    assert [r["record"] for r in parsed] == ["target"] * 9 + ["summary"]
    assert parsed[-2]["target"].endswith("/slow")  # the slow one last: the order they ended
    assert parsed[-1]["counts"] == {"targets": 9, "scanned": 9, "not_scanned": 0}


def test_the_jsonl_stream_and_the_json_report_agree(fleet, tmp_path):
    server = fleet()
    urls = [f"{server.url}/p{i}" for i in range(20)] + ["http://127.0.0.1:9/closed"]
    out_jsonl, out_json = tmp_path / "fleet.jsonl", tmp_path / "fleet.json"
    process = keywire(
        "scan", *QUICK, "--workers", "2", "-o", f"jsonl:{out_jsonl}", "-o", f"json:{out_json}",
        "--allow-incomplete", *urls,
    )  # fmt: skip
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    stream = records(out_jsonl)
    report = json.loads(out_json.read_text(encoding="utf-8"))
    jsonschema.validate(report, json_reporter.schema())
    by_target = {r["target"]: r for r in stream if r["record"] == "target"}
    assert len(by_target) == len(report["targets"]) == 21
    for entry in report["targets"]:
        record = dict(by_target[entry["target"]])
        del record["schema_version"], record["record"]
        assert record == entry
    summary = stream[-1]
    assert summary["record"] == "summary"
    for key, value in report.items():
        if key not in ("targets", "schema_version"):
            assert summary[key] == value, key
    assert report["complete"] is False and summary["counts"]["not_scanned"] == 1
    # Plan order in the report, whatever order the targets ended in.
    assert [t["target"] for t in report["targets"]] == urls


def test_a_killed_run_resumes_where_it_stopped(fleet, tmp_path):
    server = fleet(delay=lambda path: 0.4)
    urls = [f"{server.url}/t{i:02d}" for i in range(14)]
    listing = tmp_path / "fleet.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    args = ("scan", *QUICK, "-i", str(listing), "--max-targets", "2", "--workers", "1")
    process = keywire(*args, "--format", "jsonl", "-o", str(out))
    try:
        wait_for(lambda: len(targets_of(out)) >= 4)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        ended(process)
    done = targets_of(out)
    assert 4 <= len(done) < len(urls)
    seen = {path: server.requests[path] for path in server.requests}
    with out.open("ab") as handle:  # a line cut short by the crash
        handle.write(b'{"schema_version":"1.0","record":"tar')
    report = tmp_path / "report.json"
    process = keywire(*args, "--resume", str(out), "-o", f"json:{report}")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert b"cut short" in err
    for url in done:  # nothing that was done is scanned again
        path = url.removeprefix(server.url)
        assert server.requests[path] == seen[path], path
    final = records(out)
    assert sorted(r["target"] for r in final if r["record"] == "target") == urls
    assert final[-1]["record"] == "summary" and final[-1]["counts"]["targets"] == len(urls)
    document = json.loads(report.read_text(encoding="utf-8"))
    assert [t["target"] for t in document["targets"]] == urls


def test_ctrl_c_stops_every_worker_and_exits_130(fleet, tmp_path):
    server = fleet(delay=lambda path: 1.0)
    for address in ("127.0.0.2", "127.0.0.3"):  # two servers: one for each worker
        server.listen(address, server.port)
    urls = [f"http://127.0.0.{2 + i % 2}:{server.port}/c{i}" for i in range(40)]
    out = tmp_path / "results.jsonl"
    process = keywire("scan", *QUICK, "--workers", "2", "-o", f"jsonl:{out}", *urls)
    try:
        wait_for(lambda: len(children(process.pid)) == 1 and len(targets_of(out)) >= 1)
        workers = children(process.pid)  # this process scans a share, a worker the other
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        ended(process)
    assert process.returncode == 130, err.decode()
    assert b"interrupted" in err
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5)
    assert 1 <= len(targets_of(out)) < len(urls)  # kept for --resume


def test_a_lost_worker_is_reported_never_waited_for(fleet, tmp_path):
    server = fleet(delay=lambda path: 0.5)
    urls = [f"http://127.0.0.{2 + i % 2}:{server.port}/w{i}" for i in range(24)]
    for address in ("127.0.0.2", "127.0.0.3"):
        server.listen(address, server.port)
    out = tmp_path / "results.jsonl"
    process = keywire(
        "scan", *QUICK, "--workers", "2", "--max-targets", "4", "-o", f"jsonl:{out}", *urls
    )
    try:
        wait_for(lambda: len(children(process.pid)) == 1 and len(targets_of(out)) >= 1)
        victim = children(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        _, err = process.communicate(timeout=60)
    finally:
        ended(process)
    text = err.decode()
    assert process.returncode == 3, text
    assert "ended unexpectedly (exit code -9)" in text and "--resume scans them again" in text
    lost = [r for r in records(out) if r["record"] == "target" and not r["scanned"]]
    assert lost and all("keywire worker process" in str(r["error"]) for r in lost)
    # --resume scans exactly the lost ones again.
    before = sum(server.requests.values())
    process = keywire("scan", *QUICK, "--workers", "2", "--resume", str(out), *urls)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert sum(server.requests.values()) - before >= len(lost)
    latest = {r["target"]: r for r in records(out) if r["record"] == "target"}
    assert all(r["scanned"] for r in latest.values()) and len(latest) == len(urls)


def test_progress_is_a_periodic_line_without_a_terminal_and_silent_with_q(fleet):
    server = fleet(delay=lambda path: 0.5)
    urls = [f"{server.url}/g{i}" for i in range(8)]
    args = ("scan", *QUICK, "--max-targets", "1", "--workers", "1", "--progress-every", "1")
    process = keywire(*args, *urls, "http://127.0.0.1:9/")
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if " targets (" in line]
    assert len(lines) >= 2, err.decode()
    assert lines[-1].startswith("keywire: 9/9 targets (100%)") and "1 failed" in lines[-1]
    assert any("/s, ETA " in line for line in lines[:-1])
    process = keywire(*args, "-q", *urls)
    _, err = process.communicate(timeout=60)
    assert b" targets (" not in err


def test_progress_is_one_live_line_on_a_terminal(fleet):
    import pty

    server = fleet(delay=lambda path: 0.4)
    urls = [f"{server.url}/l{i}" for i in range(6)]
    master, slave = pty.openpty()
    process = keywire(
        "scan", *QUICK, "--max-targets", "1", *urls, stderr=slave, stdout=subprocess.DEVNULL
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    process.wait(30)
    os.close(master)
    assert b"\r\x1b[Kkeywire: " in seen and b" targets (" in seen


def test_no_target_is_lost_to_a_whole_run_deadline_any_more(fleet):
    """Each target has its own deadline; a run longer than it goes on (the 300 s cut is gone)."""
    server = fleet(delay=lambda path: 0.25)
    urls = [f"{server.url}/d{i}" for i in range(10)]
    process = keywire(
        "scan", *QUICK, "--max-targets", "1", "--workers", "1", "--target-timeout", "4",
        "--format", "json", *urls,
    )  # fmt: skip
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    document = json.loads(out)
    assert document["duration_s"] > 4 and document["complete"]
    assert all(t["duration_s"] < 4 for t in document["targets"])
    assert document["options"]["scan_timeout"] is None


def test_a_target_past_its_deadline_is_not_tested_with_why_and_the_run_goes_on(fleet):
    server = fleet(delay=lambda path: None if path == "/stall" else 0.0)
    urls = [f"{server.url}/stall", f"{server.url}/ok"]
    started = time.monotonic()
    process = keywire(
        "scan", *QUICK, "--target-timeout", "2", "--timeout", "30", "--format", "json", *urls
    )
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 20
    document = json.loads(out)
    stalled, ok = document["targets"]
    assert ok["scanned"] and not stalled["scanned"]
    assert stalled["error"] == "not tested: the target deadline (2 s) was reached"
    assert stalled["outcomes"][0]["reason"] == "not tested: the target deadline (2 s) was reached"
    assert process.returncode == 3 and b"not scanned: not tested: the target deadline" in err


def test_a_whole_run_deadline_still_reports_every_target(fleet):
    server = fleet(delay=lambda path: 1.5)
    urls = [f"{server.url}/r{i}" for i in range(4)]
    process = keywire(
        "scan", *QUICK, "--max-targets", "1", "--workers", "1", "--scan-timeout", "2",
        "--format", "json", *urls,
    )  # fmt: skip
    out, err = process.communicate(timeout=60)
    document = json.loads(out)
    assert len(document["targets"]) == 4
    late = [t for t in document["targets"] if not t["scanned"]]
    assert late and all(t["error"].startswith("the scan deadline was reached") for t in late)
    assert b"not scanned: the scan deadline was reached before it started" in err
    assert process.returncode == 3 and subprocess  # incomplete, said so


def test_a_report_cannot_replace_the_resume_stream(runner, tmp_path):
    stream = tmp_path / "results.jsonl"
    result = runner.invoke(
        main, ["scan", "--resume", str(stream), "-o", f"json:{stream}", "https://a.test/"]
    )
    assert result.exit_code == 2 and "would replace the --resume stream" in result.stderr
    result = runner.invoke(main, ["scan", "--resume", str(tmp_path), "https://a.test/"])
    assert result.exit_code == 2 and "--resume" in result.stderr
