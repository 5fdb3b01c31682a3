"""Flask apps for the lab: one configurable API whose every behaviour a check looks at can be
switched on (the positive case) or off (the near-miss).

Every request's headers are recorded in ``app.config["SEEN"]`` so tests can prove what was (and
was not) sent to which server.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, redirect, request


@dataclass
class Behaviour:
    """What the lab API does. The defaults are a conformant HTTPS API."""

    # cleartext side
    refuse_cleartext: bool = True  # 403 to everything over plain HTTP
    redirect_cleartext: int | None = None  # e.g. 301: redirect plain HTTP instead
    redirect_location: str | None = None  # override the redirect target
    trust_forwarded: tuple[str, ...] = ()  # headers that make a plain request count as HTTPS
    # credentials
    require_key: bool = True
    missing_vs_invalid: bool = False  # 401 for a missing key, 403 for a wrong one
    query_key: bool = False  # also read ?api_key=
    www_authenticate: tuple[str, ...] = ('Bearer realm="api"',)
    # protection
    hsts: str | None = "max-age=63072000; includeSubDomains"
    hsts_over_http: str | None = None
    cookies: tuple[str, ...] = ()
    # content
    body: dict[str, Any] | None = None
    body_text: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    https_redirect_to: str | None = None  # HTTPS side redirects here
    valid_keys: tuple[str, ...] = ("lab-valid-key-000000000001",)
    seen: list[dict[str, str]] = field(default_factory=list)


def make_app(behaviour: Behaviour | None = None) -> Flask:
    b = behaviour or Behaviour()
    app = Flask("keywire_lab")
    lock = threading.Lock()

    def is_https() -> bool:
        if request.is_secure:
            return True
        return any(request.headers.get(name) for name in b.trust_forwarded)

    @app.before_request
    def record_and_gate() -> Any:
        with lock:
            b.seen.append({"url": request.url, **{k: v for k, v in request.headers.items()}})
        if not request.is_secure and not is_https():
            if b.redirect_cleartext is not None:
                target = b.redirect_location or request.url.replace("http://", "https://", 1)
                response = redirect(target, code=b.redirect_cleartext)
                if b.hsts_over_http:
                    response.headers["Strict-Transport-Security"] = b.hsts_over_http
                return response
            if b.refuse_cleartext:
                return jsonify(error="use https"), 403
        if request.is_secure and b.https_redirect_to not in (None, request.base_url):
            return redirect(b.https_redirect_to or "", code=302)
        return None

    @app.after_request
    def protect(response: Response) -> Response:
        if request.is_secure and b.hsts is not None:
            response.headers["Strict-Transport-Security"] = b.hsts
        if not request.is_secure and b.hsts_over_http:
            response.headers["Strict-Transport-Security"] = b.hsts_over_http
        if response.status_code != 403:  # a refusal sets nothing
            for cookie in b.cookies:
                response.headers.add("Set-Cookie", cookie)
        for name, value in b.extra_headers:
            response.headers.add(name, value)
        return response

    def key_from_request() -> str | None:
        key = request.headers.get("X-API-Key")
        auth = request.headers.get("Authorization", "")
        if key is None and auth.startswith("Bearer "):
            key = auth[7:]
        if key is None and b.query_key:
            key = request.args.get("api_key")
        return key

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def resource(path: str) -> Any:
        if b.require_key:
            key = key_from_request()
            if key is None or (key not in b.valid_keys and not b.missing_vs_invalid):
                response = jsonify(error="authentication required")
                response.status_code = 401
                for challenge in b.www_authenticate:
                    response.headers.add("WWW-Authenticate", challenge)
                return response
            if key not in b.valid_keys:
                return jsonify(error="invalid API key"), 403
        if b.body_text is not None:
            return Response(b.body_text, mimetype="text/plain")
        return jsonify(b.body if b.body is not None else {"data": "ok"})

    return app
