"""``keywire tokens`` collects what its tests need, or says plainly that the analysis is incomplete.

The default used to be 100 samples: below what MT19937 prediction (625 32-bit outputs) and the
FIPS 140-2 tests (157 tokens of 128 bits) need, while the verdict, the last line and the exit
code ignored the tests that did not run.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from flask import Flask

from keywire.cli import main
from keywire.lab import LabServer
from keywire.tokens import analyze
from keywire.tokens.analysis import samples_wanted
from labs import raw

FAST_JSON = ("--rate", "1000", "--format", "json")


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(result.stdout)


def test_default_collects_what_mt19937_prediction_needs(tokens_lab):
    result = CliRunner().invoke(
        main,
        ["tokens", f"{tokens_lab.url}/mt", "--from", "json:token", *FAST_JSON],
    )
    document = _json(result)
    assert document["collection"]["collected"] == 625
    assert "KW801" in {f["rule_id"] for f in document["findings"]}
    assert result.exit_code == 1


def test_default_collects_until_every_test_ran_and_then_says_complete(tokens_lab):
    result = CliRunner().invoke(
        main,
        ["tokens", f"{tokens_lab.url}/uuid4", "--from", "json:token", *FAST_JSON],
    )
    document = _json(result)
    assert result.exit_code == 0, result.stderr
    assert document["complete"] is True and document["verdict"] == "no_weakness_found"
    assert document["samples_wanted"] is None
    fips = [t for t in document["analysis"]["tests"] if t["name"].startswith("fips140-2.")]
    assert fips and all(t["verdict"] == "no_weakness_found" for t in fips)
    assert document["collection"]["collected"] == 167  # 4 FIPS blocks of 122-bit UUIDs


def test_too_few_samples_is_incomplete_in_verdict_last_line_and_exit_code(tokens_lab):
    args = ["tokens", f"{tokens_lab.url}/uuid4", "--from", "json:token", "--rate", "1000"]
    result = CliRunner().invoke(main, [*args, "--samples", "50"])
    assert result.exit_code == 3, result.output
    assert "Verdict: no weakness found at 50 samples; incomplete:" in result.stdout
    assert "Incomplete: " in result.stdout and "fips140-2.monobit" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert "incomplete" in last and last.endswith("rerun with --samples 167")
    allowed = CliRunner().invoke(main, [*args, "--samples", "50", "--allow-incomplete"])
    assert allowed.exit_code == 0, allowed.output
    # A weakness is a weakness, however incomplete the rest.
    weak = CliRunner().invoke(
        main, ["tokens", f"{tokens_lab.url}/uuid1", "--from", "json:token", "--samples", "5"]
    )
    assert weak.exit_code == 1
    assert "weak: " in weak.stderr and "incomplete" in weak.stderr


def test_the_automatic_count_is_bounded(tmp_path):
    """8-bit numbers need 2,500 tokens for FIPS 140-2: keywire stops at 2,000 and says so."""
    app = Flask("small_numbers")
    rng = random.Random(secrets.randbits(64))

    @app.route("/n")
    def number():  # type: ignore[no-untyped-def]
        return {"token": str(rng.getrandbits(8))}

    with LabServer(app) as server:
        result = CliRunner().invoke(
            main,
            ["tokens", server.url + "/n", "--from", "json:token", *FAST_JSON],
        )
    document = _json(result)
    assert document["collection"]["collected"] == 2000
    assert document["collection"]["requested"] == 2000
    assert document["complete"] is False and document["samples_wanted"] == 2500
    assert result.stderr.strip().endswith("rerun with --samples 2500")


def test_samples_wanted_follows_the_token_format():
    assert samples_wanted([secrets.token_hex(16) for _ in range(100)]) == 157
    assert samples_wanted([str(random.getrandbits(32)) for _ in range(100)]) == 625
    assert samples_wanted([secrets.token_urlsafe(24) for _ in range(100)]) == 321
    many = [secrets.token_hex(16) for _ in range(400)]
    assert samples_wanted(many) == 400  # never fewer than given
    analysis = analyze(many)
    assert analysis.complete and analysis.verdict == "no_weakness_found"


def _run_keywire(args: list[str], **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "keywire", *args], stdout=subprocess.PIPE, text=True, **kwargs
    )


def _wait_for(path_predicate, limit: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + limit
    while not path_predicate():
        if time.monotonic() > give_up:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def _counting_app(counter: list[int]) -> Flask:
    app = Flask("counting_tokens")
    lock = threading.Lock()

    @app.route("/t")
    def issue():  # type: ignore[no-untyped-def]
        with lock:
            counter[0] += 1
        return {"token": secrets.token_hex(16)}

    return app


def test_ctrl_c_during_collection_analyses_what_was_collected():
    served = [0]
    with LabServer(_counting_app(served)) as server:
        proc = _run_keywire(
            [
                "tokens",
                server.url + "/t",
                "--from",
                "json:token",
                "--rate",
                "40",
                "--format",
                "json",
            ]
        )
        _wait_for(lambda: served[0] >= 20)
        at_signal = served[0]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err  # no weakness, but interrupted before the tests had enough
    document = json.loads(out)
    assert document["collection"]["stopped"] == "interrupted (Ctrl-C)"
    # One request at a time: the answer in flight when the signal lands may not be counted yet.
    assert at_signal - 1 <= document["collection"]["collected"] <= served[0]
    assert document["verdict"] == "incomplete"
    assert "interrupted: analysing the" in err and "Traceback" not in err


def test_ctrl_c_before_any_token_exits_130():
    with raw.RawServer(raw.silent) as server:
        proc = _run_keywire(["tokens", server.url + "/t", "--from", "json:token"])
        _wait_for(lambda: server.connections >= 1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out == "" and "interrupted before any token" in err and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_is_shown_on_a_terminal_only(tokens_lab):
    args = ["tokens", f"{tokens_lab.url}/uuid4", "--from", "json:token", "--rate", "100"]
    primary, secondary = os.openpty()
    try:
        proc = _run_keywire([*args, "--samples", "60"], stderr=secondary)
        proc.communicate(timeout=60)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\rkeywire: collected " in shown and "/60 token(s)" in shown
    plain = CliRunner().invoke(main, [*args, "--samples", "20"])
    assert "\r" not in plain.stderr
