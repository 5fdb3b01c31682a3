"""``keywire watch`` as a user runs it: a real process, SIGTERM, restarts, a flaky receiver."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from keywire.cli import main
from keywire.store import Store, StoreError
from keywire.watch import alerts as A
from labs.changing_api import ChangingApi
from labs.webhooks import WebhookServer as Receiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def api(tmp_path):
    lab = ChangingApi(tmp_path, leaf_days=90)
    yield lab
    lab.close()


def base_args(api, db: Path) -> list[str]:
    return [
        "watch",
        "--store",
        str(db),
        "--ca-file",
        str(api.ca_file),
        "--http-port",
        str(api.http_port),
        "--timeout",
        "5",
    ]


def start(args: list[str], *, log: IO[str] | None = None, **env: str) -> subprocess.Popen[str]:
    """The watch in a process of its own; with ``log``, stderr goes to that file (a pipe nobody
    reads would fill up and block a verbose watch)."""
    return subprocess.Popen(
        [sys.executable, "-m", "keywire.cli", *args],
        stdout=subprocess.PIPE,
        stderr=log if log is not None else subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def wait_for(
    condition, timeout: float = 60.0, process: subprocess.Popen[str] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"the watch ended: {(process.communicate()[1] or 'see the log')[-2000:]}"
            )
        time.sleep(0.1)
    if process is not None:
        process.kill()
        raise AssertionError(
            f"timed out waiting: {(process.communicate()[1] or 'see the log')[-2000:]}"
        )
    raise AssertionError("timed out waiting")


def watch_results(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with Store.open(db, create=False, check=False) as store, store.transaction() as tx:
            return sum(s.targets for s in tx.scans(limit=1000, source="watch"))
    except StoreError:  # not created yet
        return 0


def test_once_with_a_targets_file_reports_bad_lines_by_number(runner, api, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# fleet\n{api.url}\nnot-a-url\n\n{api.https.url}/v2   # second\n")
    db = tmp_path / "kw.db"
    result = runner.invoke(main, [*base_args(api, db), "-i", str(targets), "--once"])
    assert result.exit_code == 0, result.stderr
    assert f"{targets}:3: " in result.stderr and "; skipped" in result.stderr
    assert "watch stopped: 1 cycle(s), 2 target scan(s)" in result.stderr
    with Store.open(db) as store, store.transaction() as tx:
        [cycle] = tx.scans(source="watch")
        assert cycle.finished_at is not None and cycle.targets == 2


@pytest.mark.parametrize(
    ("extra", "env", "message"),
    [
        (["--every", "soon"], {}, "--every takes a duration"),
        (["--every", "0s"], {}, "between 0.1 second and 30 days"),
        (["--expiry-days", "30,x"], {}, "--expiry-days takes days"),
        (["--webhook", "http://127.0.0.1:9/h"], {}, "Standard Webhooks are signed"),
        (
            ["--webhook", "http://127.0.0.1:9/h", "--webhook-secret-env", "KW_SECRET"],
            {},
            "is not set",
        ),
        (
            ["--webhook", "http://127.0.0.1:9/h", "--webhook-secret-env", "KW_SECRET"],
            {"KW_SECRET": "whsec_%%not-base64%%"},
            "not base64",
        ),
        (["--webhook-secret-env", "KW_SECRET"], {"KW_SECRET": SECRET}, "needs --webhook"),
        (
            ["--webhook", "ftp://127.0.0.1/h", "--webhook-format", "slack"],
            {},
            "http:// or https://",
        ),
    ],
)
def test_usage_errors_exit_2_and_never_show_the_secret(
    runner, api, tmp_path, monkeypatch, extra, env, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(main, [*base_args(api, tmp_path / "kw.db"), api.url, "--once", *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    for value in env.values():
        assert value not in result.stderr and value.removeprefix("whsec_") not in result.stderr
    assert not (tmp_path / "kw.db").exists() or message == "needs --webhook"


def test_no_targets_is_a_usage_error(runner, api, tmp_path):
    result = runner.invoke(main, [*base_args(api, tmp_path / "kw.db"), "--once"])
    assert result.exit_code == 2 and "at least one TARGET" in result.stderr


def test_sigterm_ends_cleanly_after_the_current_target_and_a_restart_resumes(api, tmp_path):
    db = tmp_path / "kw.db"
    targets = [f"{api.https.url}/v{n}" for n in range(1, 9)]
    process = start([*base_args(api, db), *targets, "--batch", "1", "--every", "1h"])
    try:
        wait_for(lambda: watch_results(db) >= 2)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "SIGTERM: stopping after the targets in flight" in err
    assert "Traceback" not in err and out == ""
    with Store.open(db) as store, store.transaction() as tx:
        [cycle] = tx.scans(source="watch")
        done = tx.scanned_in(cycle.id)
    assert cycle.finished_at is None and 2 <= len(done) < len(targets)

    resumed = subprocess.run(
        [sys.executable, "-m", "keywire.cli", *base_args(api, db), *targets, "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming cycle {cycle.id}" in resumed.stderr
    assert f"{len(done)} of {len(targets)} target(s) already scanned" in resumed.stderr
    with Store.open(db) as store, store.transaction() as tx:
        [cycle] = tx.scans(source="watch")
        assert cycle.finished_at is not None and tx.scanned_in(cycle.id) == set(targets)
        assert all(len(tx.history(t)) == 1 for t in targets)  # none scanned twice


def test_a_running_watch_delivers_every_alert_once_through_an_outage(api, tmp_path):
    db = tmp_path / "kw.db"
    with Receiver(SECRET) as receiver, (tmp_path / "watch.log").open("w") as log:
        receiver.down()
        process = start(
            [
                *base_args(api, db),
                api.url,
                "--every",
                "2s",
                "--webhook",
                receiver.url,
                "--webhook-secret-env",
                "KW_TEST_SECRET",
                "-v",  # httpx logs each request's URL: the path's token must not show
            ],
            log=log,
            KW_TEST_SECRET=SECRET,
        )
        try:
            wait_for(
                lambda: watch_results(db) >= 1, process=process
            )  # cycle 1: the baseline, no alert
            api.drop_hsts()
            api.swap_certificate(5)  # replaced, and now 5 days from expiry
            api.open_cleartext()
            wait_for(
                lambda: watch_results(db) >= 3
            )  # the change is seen while the receiver is down
            with Store.open(db) as store, store.transaction() as tx:
                assert tx.pending() >= 3
            receiver.up()
            wait_for(lambda: _all_delivered(db), timeout=90)
            api.behaviour.hsts = "max-age=63072000; includeSubDomains"
            wait_for(
                lambda: any(r.payload["type"] == A.FINDINGS_FIXED for r in receiver.accepted()),
                timeout=60,
            )
            wait_for(lambda: _all_delivered(db), timeout=90)
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        err = (tmp_path / "watch.log").read_text()
        assert process.returncode == 0, err[-3000:]
        with Store.open(db) as store, store.transaction() as tx:
            stored = tx.alerts(limit=1000)
        assert receiver.ids() == {a.id: 1 for a in stored}  # each alert exactly once by ID
        assert all(r.verified for r in receiver.requests)
        types = {r.payload["type"] for r in receiver.accepted()}
    assert {A.FINDINGS_NEW, A.GRADE_DROPPED, A.CERTIFICATE_EXPIRING, A.FINDINGS_FIXED} <= types
    assert "HTTP Request: POST http://127.0.0.1" in err  # the -v log is there
    assert SECRET.removeprefix("whsec_") not in err and "t0k3n-in-the-path" not in err


def _all_delivered(db: Path) -> bool:
    with Store.open(db, create=False, check=False) as store, store.transaction() as tx:
        return bool(tx.alerts(limit=1)) and tx.pending() == 0
