"""``keywire scan --save-observations`` on a fleet: every target in the plan's order, judged
offline to the report the scan wrote; asked for workers, the scan stays in one process (the
observations live where they were captured); a resumed run cannot save them."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from keywire.cli import main

from .conftest import QUICK, children, keywire


def test_a_fleets_observations_are_judged_to_its_report(fleet, tmp_path):
    server = fleet()
    urls = [f"{server.url}/p{i}" for i in range(12)] + ["http://127.0.0.1:9/closed"]
    saved, report = tmp_path / "fleet.kwobs.jsonl", tmp_path / "fleet.json"
    process = keywire(
        "scan", *QUICK, "--workers", "2", "--allow-incomplete", "-o", f"json:{report}",
        "--save-observations", str(saved), *urls,
    )  # fmt: skip
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        workers.update(children(process.pid))
        time.sleep(0.01)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert workers == set()  # no worker process: the observations stay in this one
    assert f"observations written to {saved}".encode() in err
    lines = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    assert [r["target"] for r in lines if r["record"] == "target"] == urls  # the plan's order
    judged = CliRunner().invoke(
        main, ["judge", str(saved), "--format", "json", *QUICK[2:], "--allow-incomplete"]
    )
    assert judged.exit_code == 0, judged.stderr
    scanned, again = json.loads(report.read_text(encoding="utf-8")), json.loads(judged.stdout)
    assert [t["findings"] for t in again["targets"]] == [t["findings"] for t in scanned["targets"]]
    assert [t["outcomes"] for t in again["targets"]] == [t["outcomes"] for t in scanned["targets"]]
    assert again["score"] == scanned["score"]


def test_a_resumed_run_cannot_save_observations(tmp_path):
    stream = tmp_path / "run.jsonl"
    stream.write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "scan", *QUICK, "--resume", str(stream), "--save-observations",
            str(tmp_path / "obs.jsonl"), "http://127.0.0.1:9/",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--save-observations cannot resume a scan" in result.stderr
