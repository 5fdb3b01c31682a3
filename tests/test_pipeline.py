"""One pipeline: a scan with ``--spec`` and one without run through the same runner and finish.

The spec-driven scan used to have its own runner: a configuration's policy did not apply to it
from the library (``skip-rules = ["KW143"]`` still reported KW143) and it ignored the
targets-in-flight limit. These tests scan the same endpoints both ways and expect the same
policy, the same limit and the same deadline.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from keywire import Gate, ScanOptions, Severity, TargetResult, finish_report, load_config, scan
from keywire import finish as finish_module
from labs import raw

PATHS = ("/v1/a", "/v1/b", "/v1/c", "/v1/d", "/v1/e", "/v1/f")


def _spec(directory: Path, paths: tuple[str, ...] = PATHS) -> str:
    """A local OpenAPI description of GET ``paths`` with no server (targets name the base)."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "pipeline lab", "version": "1"},
        "paths": {p: {"get": {"responses": {"200": {"description": "ok"}}}} for p in paths},
    }
    path = directory / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def _endpoint_results(report_targets: tuple[TargetResult, ...]) -> dict[str, TargetResult]:
    return {t.target: t for t in report_targets if "/v1/" in t.target}


@pytest.fixture
def short_hsts_api(lab_api):
    """An API whose only finding is KW143 (HSTS max-age under a year)."""
    return lab_api(hsts="max-age=86400; includeSubDomains")


@pytest.fixture
def config_skipping_kw143(tmp_path):
    path = tmp_path / "keywire.toml"
    path.write_text('skip-rules = ["KW143"]\n', encoding="utf-8")
    return load_config(path)


@pytest.mark.parametrize("with_spec", [False, True], ids=["urls", "spec"])
def test_the_configuration_policy_applies_with_and_without_a_spec(
    short_hsts_api, config_skipping_kw143, tmp_path, with_spec
):
    api = short_hsts_api
    base = {"ca_file": api.ca_file, "http_port": api.http.port, "timeout": 5, "scan_timeout": 60}
    if with_spec:
        targets: list[object] = [api.https.url]
        options = ScanOptions(spec=_spec(tmp_path, ("/v1/a", "/v1/b")), **base)  # type: ignore[arg-type]
    else:
        targets = [api.https.url + "/v1/a", api.https.url + "/v1/b"]
        options = ScanOptions(**base)  # type: ignore[arg-type]

    unfinished = scan(targets, options=options)  # type: ignore[arg-type]
    assert "KW143" in {f.rule_id for f in unfinished.findings}  # the policy has work to do

    gate = Gate(fail_on=Severity.MEDIUM)
    report = scan(targets, options=options, config=config_skipping_kw143, gate=gate)  # type: ignore[arg-type]
    assert "KW143" not in {f.rule_id for f in report.findings}
    assert report.gate == gate
    assert report.score is not None and report.score.score == 100
    # finish_report is the same step, for a report made elsewhere
    assert {
        f.rule_id for f in finish_report(unfinished, policy=config_skipping_kw143.policy).findings
    } == set()


def test_the_command_line_applies_the_policy_through_the_library(
    runner, short_hsts_api, tmp_path, monkeypatch
):
    from keywire.cli import main

    api = short_hsts_api
    (tmp_path / "keywire.toml").write_text('skip-rules = ["KW143"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    finished: list[object] = []
    real = finish_module.Finisher.__init__

    def spy(self, report, **kwargs):  # type: ignore[no-untyped-def]
        finished.append(kwargs.get("policy"))
        real(self, report, **kwargs)

    # The command line finishes through the library's Finisher, target by target (the stage
    # finish_report is made of), as every fleet run does.
    monkeypatch.setattr(finish_module.Finisher, "__init__", spy)
    spec = _spec(tmp_path, ("/v1/a",))
    for args in (
        ["scan", api.https.url + "/v1/a", "--http-port", str(api.http.port)],
        ["scan", api.https.url, "--spec", spec, "--http-port", str(api.http.port)],
    ):
        result = runner.invoke(main, [*args, "--ca-file", api.ca_file, "--format", "json"])
        assert result.exit_code == 0, result.stderr
        findings = [f for t in json.loads(result.stdout)["targets"] for f in t["findings"]]
        assert "KW143" not in {f["rule_id"] for f in findings}
    assert len(finished) == 2 and all(p is not None for p in finished)  # once per scan


def _slow_ok(conn: socket.socket, stop: threading.Event) -> None:
    """Answer every request after 0.3 s, so that targets overlap."""
    raw.read_request(conn)
    if stop.wait(0.3):
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


class _InFlight:
    """An observer counting the targets between their start and their end."""

    def __init__(self) -> None:
        self.now = self.most = self.started = 0

    def target_started(self, target: str) -> None:
        self.now += 1
        self.started += 1
        self.most = max(self.most, self.now)

    def target_finished(self, result: TargetResult) -> None:
        self.now -= 1


@pytest.mark.parametrize("with_spec", [False, True], ids=["urls", "spec"])
def test_the_targets_in_flight_limit_applies_with_and_without_a_spec(
    monkeypatch, tmp_path, with_spec
):
    with raw.RawServer(_slow_ok) as server:
        options = {"only": ("cleartext",), "timeout": 10, "scan_timeout": 120, "max_targets": 2}
        if with_spec:
            targets = [server.url]
            options["spec"] = _spec(tmp_path)
        else:
            targets = [server.url + p for p in PATHS]
        observer = _InFlight()
        report = scan(targets, options=ScanOptions(**options), observer=observer)  # type: ignore[arg-type]
    assert observer.started == len(PATHS)
    assert observer.most == 2
    assert len(_endpoint_results(report.targets)) == len(PATHS)


def test_the_deadline_applies_with_and_without_a_spec(tmp_path):
    """Both ways, targets still waiting at the scan deadline end there, reported alike."""
    with raw.RawServer(raw.silent) as server:
        reports = {}
        for with_spec in (False, True):
            options = {"only": ("cleartext",), "timeout": 60, "scan_timeout": 2}
            if with_spec:
                targets = [server.url]
                options["spec"] = _spec(tmp_path, PATHS[:2])
            else:
                targets = [server.url + p for p in PATHS[:2]]
            started = time.monotonic()
            reports[with_spec] = scan(targets, options=ScanOptions(**options))  # type: ignore[arg-type]
            # a bound on hangs (the requests' own timeout is 60 s), not a speed measurement
            assert time.monotonic() - started < 2 + 10
    plain, spec = (_endpoint_results(reports[w].targets) for w in (False, True))
    assert set(plain) == set(spec) and len(plain) == 2

    def shape(result: TargetResult) -> tuple[object, ...]:
        return (
            result.scanned,
            result.error,
            tuple((o.check, o.status, o.reason) for o in result.outcomes),
        )

    for url in plain:
        assert shape(plain[url]) == shape(spec[url])
        assert "deadline" in plain[url].error or any(
            "deadline" in o.reason for o in plain[url].outcomes
        )
