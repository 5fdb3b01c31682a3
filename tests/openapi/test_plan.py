"""From operations to endpoints: parameter filling, skipped operations, limits and base URLs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from keywire.openapi import build_model, load_spec, plan_endpoints

FIXTURES = Path(__file__).parent / "fixtures"


def model(name: str):
    return build_model(asyncio.run(load_spec(str(FIXTURES / name))))


def test_get_and_head_only_with_filled_paths():
    plan = plan_endpoints(model("clean-3.0.yaml"))
    assert [t.url for t in plan.targets] == [
        "https://api.example.test/v1/pets",
        "https://api.example.test/v1/pets/42",
        "https://api.example.test/v1/health",
    ]
    assert [(s.operation, s.reason) for s in plan.skipped] == [
        ("POST /pets", "POST is not sent (keywire only observes)")
    ]
    pets = plan.targets[0].endpoint
    assert pets.operation == "GET /pets" and pets.requires_credentials
    assert pets.declared_schemes == ("https",)
    health = plan.targets[2].endpoint
    assert not health.requires_credentials  # security: [] is public by declaration


def test_unfillable_path_parameter_is_skipped_with_the_reason():
    plan = plan_endpoints(model("swagger-2.0.json"))
    reasons = {s.operation: s.reason for s in plan.skipped}
    assert reasons["GET /orders/{orderId}"] == (
        "path parameter `orderId` has no example, default or enum value"
    )
    assert "https://legacy.example.test/api/users/u-1" in [t.url for t in plan.targets]
    # the http:// server duplicates the https one: it is the target's cleartext side
    assert all(t.scheme == "https" for t in plan.targets)
    assert plan.targets[0].http_url == "http://legacy.example.test/api/users/u-1"


def test_base_urls_replace_the_servers_and_ports_pass_through():
    plan = plan_endpoints(
        model("clean-3.0.yaml"),
        base_urls=["https://127.0.0.1:8443/v1"],
        http_port=8080,
    )
    assert plan.targets[0].url == "https://127.0.0.1:8443/v1/pets"
    assert plan.targets[0].http_url == "http://127.0.0.1:8080/v1/pets"


def test_max_endpoints():
    plan = plan_endpoints(model("clean-3.0.yaml"), max_endpoints=2)
    assert len(plan.targets) == 2
    assert plan.skipped[-1].reason == "over --max-endpoints (2)"
    assert plan.skipped[-1].operation == "1 more endpoint(s)"


def test_relative_server_needs_a_base(tmp_path):
    path = tmp_path / "rel.yaml"
    path.write_text(
        "openapi: 3.0.0\ninfo: {title: x, version: '1'}\nservers: [{url: /api}]\n"
        "paths:\n  /x:\n    get: {responses: {'200': {description: ok}}}\n"
    )
    spec = build_model(asyncio.run(load_spec(str(path))))
    plan = plan_endpoints(spec)
    assert plan.targets == ()
    assert "relative" in plan.skipped[0].reason
    by_url = plan_endpoints(spec, spec_url="https://127.0.0.1:9/docs/openapi.yaml")
    assert [t.url for t in by_url.targets] == ["https://127.0.0.1:9/api/x"]


def test_required_query_parameters_are_filled(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text(
        "openapi: 3.0.0\ninfo: {title: x, version: '1'}\nservers: [{url: 'https://a.test'}]\n"
        "paths:\n  /find:\n    get:\n      parameters:\n"
        "        - {name: q, in: query, required: true, example: 'a b'}\n"
        "        - {name: page, in: query, schema: {default: 2}}\n"
        "      responses: {'200': {description: ok}}\n"
    )
    plan = plan_endpoints(build_model(asyncio.run(load_spec(str(path)))))
    assert plan.targets[0].url == "https://a.test/find?q=a+b"
