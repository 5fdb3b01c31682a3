"""A lab API that publishes an OpenAPI description of itself, in two variants.

* ``conformant``: the spec declares https only and an ``X-API-Key`` header on every operation but
  a public health check; the API does exactly that, and refuses cleartext with 403.
* ``contradicting``: the same spec shape with three planted contradictions:

  1. ``GET /v1/orders`` is declared secured but answers 200 without a key (KW910);
  2. ``GET /v1/search`` declares an ``apiKey`` in the query parameter ``api_token`` and the API
     reads it (KW902 in the spec, KW120 at runtime);
  3. the spec declares https only, yet the cleartext side serves the API (KW101 with the spec's
     server location as evidence).

``extra_endpoints`` adds ``GET /v1/items/{n}`` operations (secured, conformant) for benchmarks.
The spec is served at ``/openapi.json``; its server URL is the HTTPS side that served it. Every
request's headers are recorded in :attr:`SpecLabState.seen`, so tests can prove what was sent where.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

LAB_KEY = "lab-spec-key-0000000000000001"  # valid nowhere but in this lab


@dataclass
class SpecLabState:
    contradicting: bool = False
    extra_endpoints: int = 0
    cache_control: str = "no-store"
    seen: list[dict[str, str]] = field(default_factory=list)


def lab_spec(state: SpecLabState, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.0 description of the lab API, with ``server_url`` as its only server."""
    schemes: dict[str, Any] = {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    search_security: list[dict[str, list[str]]] = [{"apiKey": []}]
    if state.contradicting:
        schemes["queryKey"] = {"type": "apiKey", "in": "query", "name": "api_token"}
        search_security = [{"queryKey": []}]
    ok = {"200": {"description": "ok"}}
    paths: dict[str, Any] = {
        "/pets": {
            "get": {"operationId": "listPets", "responses": ok},
            "post": {"operationId": "createPet", "responses": {"201": {"description": "created"}}},
        },
        "/pets/{petId}": {
            "get": {
                "operationId": "showPet",
                "parameters": [
                    {
                        "name": "petId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                        "example": 7,
                    }
                ],
                "responses": ok,
            }
        },
        "/orders": {"get": {"operationId": "listOrders", "responses": ok}},
        "/search": {"get": {"operationId": "search", "security": search_security, "responses": ok}},
        "/health": {"get": {"operationId": "health", "security": [], "responses": ok}},
        "/owners/{ownerId}": {
            "get": {
                "operationId": "showOwner",
                "parameters": [{"name": "ownerId", "in": "path", "required": True}],
                "responses": ok,
            }
        },
    }
    for n in range(state.extra_endpoints):
        paths[f"/items/{n}"] = {"get": {"operationId": f"item{n}", "responses": ok}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "keywire spec lab", "version": "1.0"},
        "servers": [{"url": server_url.rstrip("/") + "/v1"}],
        "security": [{"apiKey": []}],
        "components": {"securitySchemes": schemes},
        "paths": paths,
    }


def create_spec_app(state: SpecLabState | None = None) -> Any:
    """The lab API as a Flask app (one app serves both the HTTPS and the cleartext side)."""
    from flask import Flask, jsonify, request

    s = state or SpecLabState()
    app = Flask("keywire_spec_lab")
    lock = threading.Lock()

    @app.before_request
    def record_and_gate() -> Any:
        with lock:
            s.seen.append({"url": request.url, **dict(request.headers.items())})
        if not request.is_secure and not s.contradicting:
            return jsonify(error="use https"), 403
        return None

    @app.after_request
    def protect(response: Any) -> Any:
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.headers.get("X-API-Key") == LAB_KEY and s.cache_control:
            response.headers["Cache-Control"] = s.cache_control
        return response

    def denied(key: str | None) -> Any:
        if key is None:
            response = jsonify(error="authentication required")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="lab"'
            return response
        if key != LAB_KEY:
            return jsonify(error="invalid API key"), 403
        return None

    @app.get("/openapi.json")
    def spec() -> Any:
        return jsonify(lab_spec(s, request.host_url))

    @app.get("/v1/health")
    def health() -> Any:
        return jsonify(status="up")

    @app.get("/v1/orders")
    def orders() -> Any:
        if not s.contradicting:
            refusal = denied(request.headers.get("X-API-Key"))
            if refusal is not None:
                return refusal
        return jsonify(orders=[{"id": 1, "total": "9.90"}])

    @app.get("/v1/search")
    def search() -> Any:
        key = request.headers.get("X-API-Key")
        if s.contradicting:
            key = request.args.get("api_token", key)
        refusal = denied(key)
        if refusal is not None:
            return refusal
        return jsonify(results=[])

    @app.get("/v1/<path:rest>")
    def secured(rest: str) -> Any:
        refusal = denied(request.headers.get("X-API-Key"))
        if refusal is not None:
            return refusal
        return jsonify(path=rest, data="ok")

    return app
