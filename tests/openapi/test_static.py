"""Static findings on API descriptions: each rule on a planted case, nothing on near-misses."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from keywire import Severity
from keywire.openapi import build_model, load_spec, spec_findings
from keywire.openapi.static import is_loopback

FIXTURES = Path(__file__).parent / "fixtures"


def findings_of(path: Path | str):
    return spec_findings(build_model(asyncio.run(load_spec(str(path)))))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


HEAD = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"


def test_clean_spec_has_no_findings():
    assert findings_of(FIXTURES / "clean-3.0.yaml") == []


@pytest.mark.parametrize("name", ["openapi-3.1.json", "split/main.yaml", "cyclic-schema.yaml"])
def test_other_conformant_specs_have_no_findings(name):
    assert findings_of(FIXTURES / name) == []


def test_every_static_rule_on_the_insecure_spec():
    found = findings_of(FIXTURES / "insecure-3.0.yaml")
    assert Counter(f.rule_id for f in found) == {
        "KW901": 2,
        "KW902": 1,
        "KW903": 1,
        "KW904": 1,
        "KW905": 3,
        "KW906": 1,
        "KW907": 1,
    }
    by_location = {(f.rule_id, f.location): f for f in found}
    local = by_location[("KW901", "/servers/2/url")]
    assert local.severity is Severity.LOW  # http://localhost: a development server
    assert by_location[("KW901", "/servers/0/url")].severity is Severity.MEDIUM
    for finding in found:
        spec = dict(finding.evidence)["spec"]
        assert spec.startswith(str(FIXTURES / "insecure-3.0.yaml") + "#/")


def test_swagger_2_findings():
    found = {(f.rule_id, f.location) for f in findings_of(FIXTURES / "swagger-2.0.json")}
    assert found == {
        ("KW901", "/schemes/0"),
        ("KW902", "/securityDefinitions/key"),
        ("KW904", "/securityDefinitions/basic"),
        ("KW905", "/securityDefinitions/oauth/authorizationUrl"),
    }


def test_https_servers_only_is_a_near_miss_for_kw901(tmp_path):
    path = write(
        tmp_path, HEAD + "servers: [{url: 'https://a.test'}, {url: '/relative'}]\npaths: {}\n"
    )
    assert findings_of(path) == []


def test_operation_level_http_server(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "servers: [{url: 'https://a.test'}]\n"
        + "paths:\n  /x:\n    servers: [{url: 'http://b.test'}]\n"
        + "    get: {responses: {'200': {description: ok}}}\n",
    )
    assert [(f.rule_id, f.location) for f in findings_of(path)] == [
        ("KW901", "/paths/~1x/servers/0/url")
    ]


def test_header_key_and_secure_cookie_are_near_misses(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "security: [{h: []}, {c: []}, {c2: []}]\n"
        + "components:\n  securitySchemes:\n"
        + "    h: {type: apiKey, in: header, name: X-API-Key}\n"
        + "    c: {type: apiKey, in: cookie, name: k, x-cookie-secure: true}\n"
        + "    c2: {type: apiKey, in: cookie, name: k2, description: 'Set with Secure; HttpOnly'}\n"
        + "paths: {}\n",
    )
    assert findings_of(path) == []


def test_bearer_and_digest_are_not_basic(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "security: [{b: []}, {d: []}]\n"
        + "components:\n  securitySchemes:\n"
        + "    b: {type: http, scheme: bearer}\n    d: {type: http, scheme: Digest}\n"
        + "paths: {}\n",
    )
    assert findings_of(path) == []


def test_https_oauth_urls_are_near_misses(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "security: [{o: []}]\n"
        + "components:\n  securitySchemes:\n    o:\n      type: oauth2\n      flows:\n"
        + "        clientCredentials: {tokenUrl: 'https://auth.test/token', scopes: {}}\n"
        + "paths: {}\n",
    )
    assert findings_of(path) == []


def test_explicit_public_operation_is_not_kw907(tmp_path):
    path = write(
        tmp_path,
        HEAD
        + "components:\n  securitySchemes:\n    k: {type: apiKey, in: header, name: X-Key}\n"
        + "paths:\n  /public:\n    get: {security: [], responses: {'200': {description: ok}}}\n"
        + "  /private:\n    get: {security: [{k: []}], responses: {'200': {description: ok}}}\n",
    )
    assert findings_of(path) == []


def test_no_schemes_means_no_kw907(tmp_path):
    path = write(
        tmp_path, HEAD + "paths:\n  /x:\n    get: {responses: {'200': {description: ok}}}\n"
    )
    assert findings_of(path) == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("api.localhost", True),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("127.8.9.10", True),
        ("api.example.test", False),
        ("10.0.0.1", False),
        ("localhost.example", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_findings_are_stable_between_runs():
    first = [f.fingerprint for f in findings_of(FIXTURES / "insecure-3.0.yaml")]
    second = [f.fingerprint for f in findings_of(FIXTURES / "insecure-3.0.yaml")]
    assert first == second and len(set(first)) == len(first)
