"""The seed's API, as it was written: the vulnerable starting point of ``keywire demo``.

Two variants, both as the seed has them:

* ``create_seed_app``: API keys in a dict in the code, read from ``X-API-Key`` over plain HTTP.
  A missing key and a wrong key get the same answer, ``401 {"error": "unauthorized"}``, so
  nothing on the wire tells them apart; but every client is asked for its key over cleartext
  and sends it there, and the answers travel back the same way (keywire: KW101, KW111-KW113).
* ``create_redirect_app``: the same API with the seed's ``enforce_https`` fix, which redirects plain
  HTTP requests to HTTPS. The key has crossed the wire before the redirect, which is why keywire
  still reports it (KW102).

Do not copy these: ``examples/hardened_app.py`` is the fixed version.
"""

from __future__ import annotations

from typing import Any

# The seed keeps its keys in the code. These are lab values, valid nowhere.
API_KEYS = {
    "client-a": "lab-key-client-a-0001",
    "client-b": "lab-key-client-b-0002",
}


def create_seed_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask("keywire_seed")

    @app.route("/v1/resource")
    def resource() -> Any:
        api_key = request.headers.get("X-API-Key")
        if api_key not in API_KEYS.values():
            return jsonify({"error": "unauthorized"}), 401
        return jsonify({"data": "sensitive resource"})

    return app


def create_redirect_app(https_port: int | None = None) -> Any:
    """The seed app plus its ``enforce_https`` redirect.

    ``https_port`` lets the lab serve the HTTPS side on another loopback port; the seed itself
    assumes 443.
    """
    from flask import redirect, request
    from werkzeug.wrappers import Response

    app = create_seed_app()

    @app.before_request  # type: ignore[untyped-decorator]
    def enforce_https() -> Response | None:
        if not request.is_secure:
            url = request.url.replace("http://", "https://", 1)
            if https_port is not None:
                url = f"https://{request.host.split(':')[0]}:{https_port}{request.full_path.rstrip('?')}"
            return redirect(url, code=301)
        return None

    return app
