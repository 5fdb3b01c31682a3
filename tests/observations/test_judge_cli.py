"""``keywire judge FILE``: every report format from the file alone, today's policy, clean refusals.

The files come from real scans of the lab (an HTTP app on both sides, the spec lab); hostile
variants of them (cut short, another version, deep nesting, wrong types) end in exit 2 with one
line on stderr, never a traceback. Every line of a real file validates against the committed
JSON Schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from keywire import ScanOptions, parse_target, scan
from keywire.cli import main
from keywire.lab import LabServer
from keywire.observations import file as observations_file
from keywire.observations import judge, read
from keywire.reporters import FORMATS, render
from labs.apps import Behaviour, make_app
from labs.spec_api import SpecLabState, create_spec_app

from ..judged import no_network

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "src/keywire/schemas/observations-1.schema.json"
    ).read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def saved(pki, tmp_path_factory) -> tuple[Path, object]:
    """A scan of an API that serves over cleartext and sets a cookie, and its observations."""
    path = tmp_path_factory.mktemp("observations") / "scan.jsonl"
    app = make_app(Behaviour(refuse_cleartext=False, cookies=("sid=Zx8vK2mQ9pL4wR7t; Path=/",)))
    with LabServer(app, ssl_context=pki.server_context()) as https, LabServer(app) as http:
        target = parse_target(https.url + "/v1/resource", http_port=http.port)
        report = scan(
            [target, "http://127.0.0.1:9/"],  # the second refuses: a target not scanned
            options=ScanOptions(ca_file=str(pki.ca_file), timeout=5, save_observations=str(path)),
        )
    return path, report


def _run(*args: str) -> object:
    return CliRunner().invoke(main, ["judge", *args])


def test_every_report_format_from_the_file_is_the_scans(saved):
    path, report = saved
    with no_network():
        judged = judge(path)
    for fmt in FORMATS:
        assert render(judged, fmt) == render(report, fmt), fmt


def test_every_line_validates_against_the_schema(saved, spec_file):
    for path in (saved[0], spec_file):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert json.loads(lines[0])["record"] == "scan"
        for line in lines:
            jsonschema.validate(json.loads(line), SCHEMA)
    records = [json.loads(line)["record"] for line in spec_file.read_text().splitlines()]
    assert records[:2] == ["scan", "spec"] and records[-1] == "end"


@pytest.fixture(scope="module")
def spec_file(pki, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("observations") / "spec.jsonl"
    app = create_spec_app(SpecLabState(contradicting=True))
    with LabServer(app, ssl_context=pki.server_context()) as https, LabServer(app) as http:
        report = scan(
            [],
            options=ScanOptions(
                spec=https.url + "/openapi.json",
                ca_file=str(pki.ca_file),
                http_port=http.port,
                timeout=5,
                save_observations=str(path),
            ),
        )
    assert {"KW902", "KW910"} <= {f.rule_id for f in report.findings}
    with no_network():
        again = judge(path)
    assert [f for t in again.targets for f in t.findings] == list(report.findings)
    return path


def test_the_cli_judges_with_todays_policy_and_gate(saved, tmp_path):
    path, report = saved
    assert {"KW101", "KW160"} <= {f.rule_id for f in report.findings}
    result = _run(str(path), "--format", "json", "--no-config")
    assert result.exit_code == 1, result.stderr  # KW101 fails the default gate
    config = tmp_path / "keywire.toml"
    config.write_text('skip-rules = ["KW101", "KW111", "KW112", "KW113"]\nfail-on = "critical"\n')
    result = _run(str(path), "--format", "json", "--config", str(config), "--allow-incomplete")
    assert result.exit_code == 0, result.stderr
    found = {f["rule_id"] for t in json.loads(result.stdout)["targets"] for f in t["findings"]}
    assert "KW101" not in found and "KW160" in found
    assert "no request is sent" in result.stderr
    incomplete = _run(str(path), "--fail-on", "none", "--no-config")
    assert incomplete.exit_code == 3  # 127.0.0.1:9 was not scanned: the file says so too
    assert "127.0.0.1:9" in incomplete.stderr


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(tmp_path: Path, records: list[dict] | str) -> str:
    path = tmp_path / "hostile.jsonl"
    if isinstance(records, str):
        path.write_text(records, encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _first_response(records: list[dict]) -> dict:
    return next(x for r in records if r["record"] == "target" for x in r.get("exchanges", []))


def _break(name: str, records: list[dict]) -> list[dict] | str:
    """``records`` broken the way ``name`` says."""
    target = next(r for r in records if r["record"] == "target" and "families" in r)
    if name == "cut short":
        return "".join(json.dumps(r) + "\n" for r in records)[:-200]
    if name == "no end":
        return records[:-1]
    if name == "another major version":
        records[0]["schema_version"] = "2.0"
    elif name == "not an observations file":
        records[0]["kind"] = "keywire-report"
    elif name == "a status that is text":
        _first_response(records)["status"] = "200"
    elif name == "a body that is a number":
        _first_response(records)["body"] = 5
    elif name == "bytes that are not base64":
        _first_response(records)["body"] = {"$base64": "@@@"}
    elif name == "an unknown failure kind":
        target["exchanges"].append({"type": "failure", "url": "x", "probe": "p", "kind": "?"})
        target["families"][0]["observation"]["baseline"] = {"$ref": len(target["exchanges"]) - 1}
    elif name == "a reference out of range":
        target["families"][0]["observation"]["baseline"] = {"$ref": 10_000}
    elif name == "a missing field":
        del target["families"][0]["observation"]["target"]
    elif name == "families not a list":
        target["families"] = {"cleartext": {}}
    elif name == "a family twice":
        target["families"].append(target["families"][0])
    elif name == "scanned as text":
        target["scanned"] = "yes"
    elif name == "the end miscounts":
        records[-1]["targets"] = 7
    elif name == "a record after the end":
        records.append(records[1])
    elif name == "a second scan record":
        records.insert(1, records[0])
    elif name == "a time without zone":
        records[0]["started_at"] = "2024-01-01T00:00:00"
    return records


HOSTILE = [
    "cut short",
    "no end",
    "another major version",
    "not an observations file",
    "a status that is text",
    "a body that is a number",
    "bytes that are not base64",
    "an unknown failure kind",
    "a reference out of range",
    "a missing field",
    "families not a list",
    "a family twice",
    "scanned as text",
    "the end miscounts",
    "a record after the end",
    "a second scan record",
    "a time without zone",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_a_clean_usage_error(saved, tmp_path, name):
    path = _write(tmp_path, _break(name, _lines(saved[0])))
    result = _run(path, "--no-config")
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.exception)
    assert result.stderr.startswith("keywire: error: cannot judge the observations:")
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json\n",
        '{"record": "scan"}\n',
        "[" * 5000 + "]" * 5000 + "\n",
        '{"record": "scan", "x": ' + "[" * 100 + "]" * 100 + "}\n",
        "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    ],
    ids=["empty", "not JSON", "bare header", "deep", "deep in a record", "not UTF-8"],
)
def test_files_that_are_no_observations_are_a_clean_usage_error(tmp_path, content):
    result = _run(_write(tmp_path, content), "--no-config")
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_unreadable_and_oversized_files_are_refused(saved, tmp_path, monkeypatch):
    assert _run(str(tmp_path / "missing.jsonl")).exit_code == 2
    assert _run(str(tmp_path)).exit_code == 2  # a directory
    monkeypatch.setattr(observations_file, "MAX_FILE_BYTES", 1000)
    result = _run(str(saved[0]), "--no-config")
    assert result.exit_code == 2 and "larger than" in result.stderr


def test_a_family_this_keywire_does_not_have_is_noted_not_fatal(saved, tmp_path):
    records = _lines(saved[0])
    target = next(r for r in records if r["record"] == "target" and "families" in r)
    target["families"].append({"family": "retired_family", "observation": {}})
    judged = judge(_write(tmp_path, records))
    assert any("retired_family" in notice for notice in judged.notices)
    assert judged.findings == saved[1].findings


def test_read_gives_the_scans_metadata(saved):
    path, report = saved
    observations = read(str(path))
    assert observations.tool_version == report.tool_version
    assert observations.started_at == report.started_at
    assert len(observations.records) == len(report.targets) == 2
    assert observations.records[1]["error"] == report.targets[1].error
