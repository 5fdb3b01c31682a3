"""Hashes of a fine clock (``md5(str(time.time()))``, ``Date.now()``, µs clocks, PHP's
``microtime()``/``uniqid()``) are predicted from the capture times, live and from files.

The time-seeded search only tried whole seconds and milliseconds: a Python float timestamp has
about four million values a second, and none of these tokens was ever predicted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from flask import Flask, Response

from keywire.cli import main
from keywire.lab import LabServer
from keywire.tokens import analyze
from keywire.tokens.predict import clockhash


def _php_microtime(now: float) -> str:
    micros = int(now * 1_000_000)
    return f"0.{micros % 1_000_000:06d}00 {micros // 1_000_000}"


def _php_uniqid(now: float) -> str:
    micros = int(now * 1_000_000)
    return f"{micros // 1_000_000:08x}{micros % 1_000_000:05x}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


#: The weak generators (what the server does, with the instant it reads) and what keywire must
#: name. Each reads the clock once, as the real code would.
WEAK: dict[str, tuple[Callable[[], str], str]] = {
    "python-float-md5": (
        lambda: hashlib.md5(str(time.time()).encode()).hexdigest(),
        "md5(str(time.time())).hexdigest()",
    ),
    "js-now-sha1-base64": (
        lambda: base64.b64encode(
            hashlib.sha1(str(int(time.time() * 1000)).encode()).digest()
        ).decode(),
        "sha1(str(int(time.time() * 1000))).digest() as base64",
    ),
    "micros-sha256-base64url": (
        lambda: _b64url(hashlib.sha256(str(time.time_ns() // 1000).encode()).digest()),
        "sha256(str(time.time_ns() // 1000)).digest() as base64url",
    ),
    "fixed6-md5": (
        lambda: hashlib.md5(f"{time.time():.6f}".encode()).hexdigest(),  # '%.6f' % t
        "md5('%.6f' % time.time()).hexdigest()",
    ),
    "php-microtime": (
        lambda: hashlib.md5(_php_microtime(time.time()).encode()).hexdigest(),
        "md5(microtime()).hexdigest()",
    ),
    "php-uniqid": (
        lambda: hashlib.md5(_php_uniqid(time.time()).encode()).hexdigest(),
        "md5(uniqid()).hexdigest()",
    ),
}

_SALT = secrets.token_hex(16)
#: Near misses: the same clocks, with something secret mixed in.
STRONG: dict[str, Callable[[], str]] = {
    "salted-md5": lambda: hashlib.md5((_SALT + str(time.time())).encode()).hexdigest(),
    "random-suffix": lambda: hashlib.sha256(
        (str(time.time()) + secrets.token_hex(8)).encode()
    ).hexdigest(),
}


def _app() -> Flask:
    app = Flask("clock_hash_lab")
    for name, (make, _generator) in WEAK.items():
        app.add_url_rule(f"/{name}", name, _issuer(make))
    for name, make in STRONG.items():
        app.add_url_rule(f"/{name}", name, _issuer(make))
    return app


ISSUED: list[str] = []


def _issuer(make: Callable[[], str]) -> Callable[[], Response]:
    def issue() -> Response:
        token = make()
        ISSUED.append(token)
        return Response(json.dumps({"token": token}), mimetype="application/json")

    return issue


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    with LabServer(_app()) as server:
        yield server


FAST = ("--rate", "200", "--format", "json")


def _collect(lab: LabServer, name: str, samples: int = 20) -> tuple[int, dict, str]:
    ISSUED.clear()
    result = CliRunner().invoke(
        main,
        ["tokens", f"{lab.url}/{name}", "--from", "json:token", "--samples", str(samples), *FAST],
    )
    return result.exit_code, json.loads(result.stdout), result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(WEAK))
def test_live_collection_predicts_hashed_clocks(lab, name):
    code, document, output = _collect(lab, name)
    _make, generator = WEAK[name]
    (finding,) = [f for f in document["findings"] if f["rule_id"] == "KW801"]
    assert generator in finding["evidence"]["generator"], finding["evidence"]["generator"]
    assert int(finding["evidence"]["verified"]) >= 1
    assert code == 1
    assert len(ISSUED) == 20
    assert not any(token in output for token in ISSUED)  # only redacted forms are shown


@pytest.mark.parametrize("name", sorted(STRONG))
def test_no_prediction_when_a_secret_is_mixed_in(lab, name):
    _code, document, _ = _collect(lab, name)
    assert "KW801" not in {f["rule_id"] for f in document["findings"]}
    (test,) = [t for t in document["analysis"]["tests"] if t["name"] == "predict.clock_hash"]
    assert test["verdict"] == "no_weakness_found"
    assert "candidate instants hashed" in test["detail"]


def _file(tmp_path, make: Callable[[], str], count: int = 12, with_times: bool = True):  # type: ignore[no-untyped-def]
    lines = []
    for _ in range(count):
        token = make()
        stamp = time.time()  # when the token was "received": after it was made
        lines.append(f"{token}\t{stamp:.6f}" if with_times else token)
        time.sleep(0.003)
    path = tmp_path / "tokens.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [line.split("\t")[0] for line in lines]


@pytest.mark.parametrize("name", ["python-float-md5", "php-uniqid", "micros-sha256-base64url"])
def test_token_file_with_a_time_per_line_is_predicted(tmp_path, name):
    make, generator = WEAK[name]
    path, raw = _file(tmp_path, make)
    result = CliRunner().invoke(main, ["tokens", "--file", str(path), "--format", "json"])
    document = json.loads(result.stdout)
    (finding,) = [f for f in document["findings"] if f["rule_id"] == "KW801"]
    assert generator in finding["evidence"]["generator"]
    assert result.exit_code == 1
    for token in raw:
        assert token not in result.stdout + result.stderr


def test_token_file_without_times_says_the_search_needs_them(tmp_path):
    make, _ = WEAK["python-float-md5"]
    path, _raw = _file(tmp_path, make, with_times=False)
    result = CliRunner().invoke(main, ["tokens", "--file", str(path), "--format", "json"])
    document = json.loads(result.stdout)
    (test,) = [t for t in document["analysis"]["tests"] if t["name"] == "predict.clock_hash"]
    assert test["verdict"] == "not_run" and "time after each token" in test["detail"]
    assert test["needs_more_samples"] is False


def test_a_file_mixing_lines_with_and_without_times_is_a_usage_error(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(f"{secrets.token_hex(16)}\t1700000000.5\n{secrets.token_hex(16)}\n")
    result = CliRunner().invoke(main, ["tokens", "--file", str(path)])
    assert result.exit_code == 2 and "line 2: " in result.stderr


def test_the_date_header_places_a_skewed_server_clock():
    """A server 3.37 s ahead: its Date headers bound the offset, and the search finds it."""
    skew = 3.37
    tokens, sent, received, dates = [], [], [], []
    moment = time.time() - 300
    for step in range(160):
        moment += 0.2 * (1 + (step * 7919 % 100) / 400)  # sampling's jitter, deterministically
        made = moment + 0.012 + skew
        tokens.append(hashlib.md5(str(made).encode()).hexdigest())
        sent.append(moment)
        received.append(moment + 0.025)
        dates.append(float(int(made)))
    low, high = clockhash.clock_offset(sent, received, dates) or (0.0, 0.0)
    assert low <= skew <= high and high - low < 0.1
    analysis = analyze(
        tokens, token_times=received, sent_times=sent, server_dates=dates, sampled_at=moment
    )
    (prediction,) = [p for p in analysis.predictions if p.generator.startswith("md5(")]
    assert prediction.generator == "md5(str(time.time())).hexdigest()"
    found = re.search(r"server's clock is ([+-][0-9.]+) ms", prediction.detail)
    assert found and abs(float(found.group(1)) - 3369.5) < 1.0, prediction.detail
    assert analysis.weak


def test_decodings_and_offsets():
    digest = hashlib.sha1(b"x").digest()
    assert clockhash.decodings(digest.hex())[0] == ("hexdigest()", digest)
    assert clockhash.decodings(digest.hex().upper())[0] == ("hexdigest().upper()", digest)
    assert clockhash.decodings(_b64url(digest)) == [("digest() as base64url", digest)]
    assert clockhash.decodings(base64.b64encode(digest).decode()) == [
        ("digest() as base64", digest)
    ]
    assert clockhash.decodings("short") == []
    # Inconsistent Date headers (a cache) assume nothing.
    assert clockhash.clock_offset([10.0, 20.0], [10.1, 20.1], [10.0, 25.0]) is None
