"""Loading API descriptions: versions, formats, references, cycles, bounds and clear errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from keywire.openapi import SpecError, build_model, load_spec
from keywire.openapi.documents import MAX_DOCUMENTS, MAX_NODES, parse_document

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str | Path):
    return build_model(asyncio.run(load_spec(str(FIXTURES / name))))


def error(name: str | Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load(name)
    return caught.value


@pytest.mark.parametrize(
    ("name", "version", "operations"),
    [
        ("clean-3.0.yaml", "3.0.3", 4),
        ("openapi-3.1.json", "3.1.0", 2),
        ("swagger-2.0.json", "2.0", 5),
        ("split/main.yaml", "3.0.3", 1),
        ("cyclic-schema.yaml", "3.0.3", 1),
    ],
)
def test_valid_specs_load(name, version, operations):
    model = load(name)
    assert model.version == version
    assert len(model.operations) == operations


def test_openapi_31_features():
    model = load("openapi-3.1.json")
    # server variables take their default; a path item $ref into components/pathItems resolves
    assert [s.url for s in model.servers] == ["https://eu.api.example.test/v2"]
    account = next(op for op in model.operations if op.path == "/accounts/{accountId}")
    # JSON Schema 2020-12 "examples" array, reached through a schema $ref
    assert [p.value for p in account.parameters] == ["acc-7"]
    assert {s.type for s in model.security_schemes} == {"mutualTLS", "http"}
    status = next(op for op in model.operations if op.path == "/status")
    assert status.method == "head" and status.security == () and status.security_location


def test_swagger_2_servers_and_parameters():
    model = load("swagger-2.0.json")
    assert [s.url for s in model.servers] == [
        "http://legacy.example.test/api",
        "https://legacy.example.test/api",
    ]
    assert model.servers[0].location.endswith("#/schemes/0")
    user = next(op for op in model.operations if op.path == "/users/{userId}")
    assert user.parameters[0].value == "u-1"  # x-example, through a shared parameter $ref
    report = next(op for op in model.operations if op.path == "/reports/{kind}")
    assert report.parameters[0].value == "daily"  # first enum value
    basic = model.scheme("basic")
    assert basic is not None and (basic.type, basic.http_scheme) == ("http", "basic")


def test_relative_file_references():
    model = load("split/main.yaml")
    (operation,) = model.operations
    assert operation.parameters[0].value == "t-1"
    assert operation.location.startswith(str(FIXTURES / "split/paths/things.yaml"))
    key = model.scheme("key")
    assert key is not None and key.key_in == "header" and "components.yaml" in key.location


def test_recursive_schema_is_not_a_cycle_error():
    assert load("cyclic-schema.yaml").operations[0].path == "/tree"


def test_reference_cycle_is_an_error_naming_the_pointer():
    exc = error("cyclic-ref.yaml")
    assert exc.source.endswith("cyclic-ref.yaml")
    assert exc.pointer in ("/components/parameters/A", "/components/parameters/B")
    assert "circular" in exc.message


@pytest.mark.parametrize(
    ("name", "pointer", "words"),
    [
        (
            "broken-ref.yaml",
            "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref",
            "does not resolve",
        ),
        ("broken-type.yaml", "/paths/~1pets/get/parameters", "must be an array"),
        ("broken-missing-file.yaml", "/paths/~1pets/$ref", "No such file"),
        ("broken-remote-ref.yaml", "/paths/~1pets/$ref", "only reference other files"),
        ("not-openapi.json", "", "not an OpenAPI or Swagger document"),
    ],
)
def test_broken_specs_name_file_and_pointer(name, pointer, words):
    exc = error(name)
    assert exc.source.endswith(name)
    assert exc.pointer == pointer
    assert words in exc.message
    assert name in str(exc) and pointer in str(exc)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("broken-syntax.yaml", "invalid YAML at line 8"),
        ("broken-syntax.json", "invalid JSON at line 4, column 13"),
    ],
)
def test_syntax_errors_name_the_line(name, words):
    exc = error(name)
    assert exc.source.endswith(name)
    assert words in exc.message


def test_unsupported_version(tmp_path):
    path = tmp_path / "v4.json"
    path.write_text(json.dumps({"openapi": "4.0.0", "info": {}, "paths": {}}))
    exc = error(path)
    assert exc.pointer == "/openapi" and "unsupported OpenAPI version" in exc.message


def test_undeclared_scheme_in_a_requirement(tmp_path):
    path = tmp_path / "undeclared.yaml"
    path.write_text(
        "openapi: 3.0.0\ninfo: {title: x, version: '1'}\nsecurity:\n  - nope: []\npaths: {}\n"
    )
    exc = error(path)
    assert exc.pointer == "/security/0/nope"


def test_yaml_alias_bomb_stops_at_the_node_budget(tmp_path):
    lines = ["openapi: 3.0.0", "info: {title: bomb, version: '1'}", "a0: &a0 [x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 6)}]")
    lines.append("paths: {}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    exc = error(path)
    assert f"more than {MAX_NODES} nodes" in exc.message


def test_deep_nesting_is_bounded(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"openapi": "3.0.0", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    exc = error(path)
    assert "deep" in exc.message


def test_too_many_documents(tmp_path):
    for i in range(MAX_DOCUMENTS + 2):
        (tmp_path / f"d{i}.yaml").write_text(f"next: {{$ref: 'd{i + 1}.yaml'}}\n")
    (tmp_path / f"d{MAX_DOCUMENTS + 2}.yaml").write_text("end: true\n")
    root = tmp_path / "root.yaml"
    root.write_text("openapi: 3.0.0\ninfo: {title: x, version: '1'}\nx-chain: {$ref: 'd0.yaml'}\n")
    exc = error(root)
    assert f"more than {MAX_DOCUMENTS} documents" in exc.message


def test_yaml_only_types_become_json(tmp_path):
    content = parse_document(b"a: 2024-01-02\n200: {b: yes}\n", display="x.yaml")
    assert content == {"a": "2024-01-02", "200": {"b": True}}


def test_not_utf8():
    with pytest.raises(SpecError, match="not UTF-8"):
        parse_document(b"\xff\xfe\x00", display="x.json")


def test_url_spec_without_fetcher():
    with pytest.raises(SpecError, match="cannot fetch"):
        asyncio.run(load_spec("https://127.0.0.1:9/openapi.json"))
