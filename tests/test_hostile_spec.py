"""A spec cannot make keywire read files outside its directory, nor draw the user's credential to
an origin the user did not name (another port of the same host included)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from keywire import ScanOptions, scan
from keywire.cli import main
from keywire.lab import LabServer
from keywire.net.http import ClientSettings, FailureKind, FetchFailure, HttpClient, HttpResponse
from keywire.openapi import SpecError
from keywire.openapi.loader import load_spec
from keywire.targets import origin_of, parse_target
from labs.apps import Behaviour, make_app

SECRET = "user-secret-key-5e1d7c3b9a0f2e4d6c8b"
PLANTED = "planted-value-from-outside-1f9e"


def _spec(server_url: str, parameter: dict[str, object]) -> dict[str, object]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "ref lab", "version": "1"},
        "servers": [{"url": server_url}],
        "paths": {
            "/v1/items/{itemId}": {
                "get": {
                    "parameters": [parameter],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


def _outside_parameter(path: Path) -> None:
    path.write_text(
        json.dumps(
            {
                "name": "itemId",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "example": PLANTED,
            }
        ),
        encoding="utf-8",
    )


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/outside.json (a file the spec must not read) and tmp/specs/ (the spec's directory)."""
    _outside_parameter(tmp_path / "outside.json")
    (tmp_path / "specs" / "sub").mkdir(parents=True)
    _outside_parameter(tmp_path / "specs" / "sub" / "inside.json")
    return tmp_path


def _write(layout: Path, ref: str, server_url: str = "https://127.0.0.1:9") -> Path:
    spec = layout / "specs" / "api.json"
    spec.write_text(json.dumps(_spec(server_url, {"$ref": ref})), encoding="utf-8")
    return spec


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink", "symlinked-dir"])
def test_a_ref_that_leaves_the_spec_directory_is_refused(layout, kind):
    if kind == "parent":
        ref = "../outside.json"
    elif kind == "absolute":
        ref = str(layout / "outside.json")
    elif kind == "symlink":
        os.symlink(layout / "outside.json", layout / "specs" / "link.json")
        ref = "link.json"
    else:
        os.symlink(layout, layout / "specs" / "up")
        ref = "up/outside.json"
    spec = _write(layout, ref)
    with pytest.raises(SpecError) as info:
        asyncio.run(load_spec(str(spec)))
    assert f"$ref {ref!r} leaves the spec's directory" in str(info.value)
    assert info.value.pointer == "/paths/~1v1~1items~1{itemId}/get/parameters/0/$ref"


def test_refs_inside_the_spec_directory_still_resolve(layout):
    spec = _write(layout, "sub/inside.json")
    loaded = asyncio.run(load_spec(str(spec)))
    assert len(loaded.documents) == 2


def test_the_outside_value_never_reaches_the_server(layout):
    """End to end: the example in ../outside.json would fill the path parameter of a request."""
    behaviour = Behaviour(require_key=False, refuse_cleartext=False)
    with LabServer(make_app(behaviour)) as server:
        spec = _write(layout, "../outside.json", server.url)
        result = CliRunner().invoke(main, ["scan", "--spec", str(spec), "--timeout", "3"])
        assert result.exit_code == 2, result.output
        assert "'../outside.json' leaves the spec's directory" in result.stderr
        assert behaviour.seen == []  # refused before any request
        # Positive control: the same value, from a file inside the directory, is used.
        inside = _write(layout, "sub/inside.json", server.url)
        control = CliRunner().invoke(main, ["scan", "--spec", str(inside), "--timeout", "3"])
    assert control.exit_code != 2, control.output
    assert any(PLANTED in r["url"] for r in behaviour.seen)


def _leaked(behaviour: Behaviour) -> list[dict[str, str]]:
    return [r for r in behaviour.seen if any(SECRET in v for v in r.values())]


def _key_spec(server_url: str) -> dict[str, object]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "origin lab", "version": "1"},
        "servers": [{"url": server_url}],
        "security": [{"key": []}],
        "components": {
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        },
        "paths": {"/v1/resource": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }


def test_a_url_spec_cannot_draw_credentials_to_another_port_of_its_host(
    lab_api, server_context, ca_file
):
    other = Behaviour()
    with LabServer(make_app(other), ssl_context=server_context) as other_server:
        assert other_server.host == "127.0.0.1"
        publisher = lab_api(require_key=False, body=_key_spec(other_server.url))
        report = scan(
            [],
            options=ScanOptions(
                spec=publisher.https.url + "/openapi.json",
                headers={"X-API-Key": SECRET},
                ca_file=ca_file,
                timeout=5,
            ),
        )
    assert other.seen, "the endpoint on the other port was probed"
    assert _leaked(other) == []
    withheld = report.targets[0].details["openapi"]["credentials_withheld_from"]
    assert withheld == [f"https://127.0.0.1:{other_server.port}"]
    assert _leaked(publisher.behaviour) == []


def test_a_url_spec_on_the_same_origin_gets_the_credential(lab_api, ca_file):
    """Positive control: the spec's own origin is the one the user named."""
    publisher = lab_api(require_key=False)
    publisher.behaviour.body = _key_spec(publisher.https.url)
    report = scan(
        [],
        options=ScanOptions(
            spec=publisher.https.url + "/openapi.json",
            headers={"X-API-Key": SECRET},
            ca_file=ca_file,
            timeout=5,
        ),
    )
    assert "credentials_withheld_from" not in report.targets[0].details["openapi"]
    leaked = _leaked(publisher.behaviour)
    assert leaked and all(r["url"].startswith(publisher.https.url) for r in leaked)


def test_the_client_refuses_another_port_of_the_named_host(server_context, ca_file):
    """The one place credentials are attached compares origins, not host names."""
    seen = Behaviour(require_key=False)
    with LabServer(make_app(seen), ssl_context=server_context) as server:
        named = f"https://127.0.0.1:{server.port + 1 if server.port < 65535 else 1}"

        async def attempt(origin: str) -> object:
            settings = ClientSettings(timeout=3, ca_file=ca_file, credentials={"X-API-Key": SECRET})
            async with HttpClient(settings) as client:
                return await client.fetch(
                    server.url + "/v1/resource", probe="t", credentials_origin=origin
                )

        refused = asyncio.run(attempt(named))
        sent = asyncio.run(attempt(f"https://127.0.0.1:{server.port}"))
    assert isinstance(refused, FetchFailure) and refused.kind is FailureKind.POLICY
    assert isinstance(sent, HttpResponse) and sent.sent_credentials
    assert len(_leaked(seen)) == 1


def test_origins_are_compared_with_explicit_ports():
    assert origin_of("https://API.example/x") == origin_of("https://api.example:443/")
    assert origin_of("https://api.example:8443/") != origin_of("https://api.example/")
    assert origin_of("http://api.example/") == "http://api.example:80"
    assert origin_of("javascript:x") is None
    assert parse_target("http://api.example/v1").credentials_origin == "https://api.example:443"
    assert parse_target("http://api.example:8080/").credentials_origin is None
    assert (
        parse_target("http://api.example:8080/", https_port=8443).credentials_origin
        == "https://api.example:8443"
    )
