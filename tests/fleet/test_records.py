"""JSONL records: schema-valid, faithful (a record gives back its result), and the JSON report
assembled from them is byte for byte the one rendered in memory."""

from __future__ import annotations

import asyncio
import io
import json

import jsonschema
import pytest

from keywire import Policy, ScanOptions, Severity, Suppression, scan
from keywire.fleet import FleetRequest, run_fleet
from keywire.fleet._records import RecordError, parse_line, result_from_record
from keywire.fleet.assemble import write_json, write_jsonl
from keywire.reporters import json as json_reporter
from keywire.reporters import jsonl, render
from labs.fleet import FleetServer


@pytest.fixture
def mixed_report(lab_api):
    api = lab_api(hsts="max-age=60", cookies=("sid=abc; Path=/",))
    with FleetServer() as fleet:
        targets = [api.target(), f"{fleet.url}/a", f"{fleet.url}/b", "http://127.0.0.1:9/"]
        options = ScanOptions(ca_file=api.ca_file, timeout=5, target_timeout=30)
        yield scan(targets, options=options), targets, options


def test_every_record_validates_and_gives_back_its_result(mixed_report):
    report, _targets, _options = mixed_report
    validator = jsonschema.Draft202012Validator(jsonl.schema())
    lines = jsonl.render(report).splitlines()
    assert len(lines) == len(report.targets) + 1
    for text, target in zip(lines, report.targets, strict=False):
        record = json.loads(text)
        validator.validate(record)
        assert record["record"] == "target"
        back = result_from_record(parse_line(text))
        assert json_reporter.target_dict(back) == json_reporter.target_dict(target)
    summary = json.loads(lines[-1])
    validator.validate(summary)
    whole = json.loads(render(report, "json"))
    assert summary["counts"] == {"targets": 4, "scanned": 3, "not_scanned": 1}
    for key, value in whole.items():
        if key not in ("targets", "schema_version"):
            assert summary[key] == value, key


def test_the_record_schema_shares_the_report_schemas_definitions():
    report_schema = json_reporter.schema()
    record_schema = jsonl.schema()
    for name, definition in report_schema["$defs"].items():
        assert record_schema["$defs"][name] == definition, name
    items = report_schema["properties"]["targets"]["items"]
    target = record_schema["$defs"]["target"]
    assert {k: v for k, v in target["properties"].items() if k in items["properties"]} == items[
        "properties"
    ]
    summary = record_schema["$defs"]["summary"]["properties"]
    for key, value in report_schema["properties"].items():
        if key not in ("targets", "schema_version"):
            assert summary[key] == value, key


@pytest.mark.parametrize("line", [b"", b"[]", b'{"record": "target"}', b'{"x"', b"\xff"])
def test_a_line_that_is_not_a_record_is_refused(line):
    with pytest.raises(RecordError):
        parse_line(line)


def test_the_assembled_json_is_the_json_report(mixed_report, tmp_path):
    _report, targets, options = mixed_report
    policy = Policy(
        severity={"KW140": Severity.LOW},
        suppressions=(Suppression(rule_id="KW101", target="*", reason="lab"),),
    )
    request = FleetRequest(targets=targets, options=options, policy=policy, workers=1)
    result = asyncio.run(run_fleet(request))
    try:
        out = io.StringIO()
        write_json(result, out.write)
        assert out.getvalue() == render(result.report(), "json")
        document = json.loads(out.getvalue())
        jsonschema.validate(document, json_reporter.schema())
        assert [t["target"] for t in document["targets"]] == [
            json.loads(jsonl.line(jsonl.target_record(t)))["target"]
            for t in result.report().targets
        ]
        assert document["summary"]["suppressed"] >= 1
        stream = io.StringIO()
        write_jsonl(result, stream.write)
        assert stream.getvalue() == jsonl.render(result.report())
    finally:
        result.spool.discard()


def test_an_empty_fleet_assembles_an_empty_list(tmp_path):
    from keywire.fleet.assemble import reindent

    assert reindent("{}") == "    {}"
    text = json.dumps({"targets": []}, indent=2)
    assert '"targets": []' in text


@pytest.mark.parametrize(
    ("count", "asked", "expected"),
    [
        (1, None, 0),  # one URL: this process alone
        (14, None, 0),  # a batch: starting a process costs more than it saves
        (47, None, 0),
        (96, None, 2),
        (1000, None, 2),
        (14, 2, 2),  # asked for: given
        (1, 2, 0),
    ],
)
def test_worker_processes_only_for_fleets_that_repay_them(count, asked, expected, monkeypatch):
    from keywire._plan import plan_urls
    from keywire.fleet import _run

    monkeypatch.setattr(_run.os, "cpu_count", lambda: 2)
    urls = [f"http://127.0.{n // 200}.{n % 200 + 1}:8080/" for n in range(count)]
    options = ScanOptions()
    request = FleetRequest(targets=urls, options=options, workers=asked)
    assert _run._workers(request, plan_urls(urls, options, whole=False)) == expected


@pytest.mark.parametrize(
    "value",
    [
        {
            "a": [1, 2.5, None, True, False],
            "b": {},
            "c": [],
            "é": 'x\u202ey\n"q"\\',
            "d": {"e": []},
        },
        [],
        {},
        "text",
        -0.0,
        1e300,
        12345678901234567890,
        [[[[{"deep": [1, [2, {"x": None}]]}]]]],
        {"nan": float("nan"), "inf": float("inf")},  # json.dumps's own way of writing them
        {1: "a key that is not a string"},  # left to json.dumps, which converts it
    ],
)
def test_the_indented_writer_is_json_dumps_byte_for_byte(value):
    from keywire.fleet.assemble import indented

    assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_the_indented_writer_on_a_real_report(mixed_report):
    from keywire.fleet.assemble import indented

    report, _targets, _options = mixed_report
    for text in jsonl.render(report).splitlines():
        record = json.loads(text)
        assert indented(record) == json.dumps(record, indent=2, ensure_ascii=False)
