"""An observations file never holds a secret, the user's header values or the scan's canary.

A hostile API on both sides echoes every request header (the canary, over cleartext; the user's
credential, over HTTPS) into its bodies and headers, and leaks provider secrets, a private key,
a JWT and a session cookie. The scan saves its observations; the file (and every base64 blob in
it, decoded) is searched for each planted value and the stretches of it an excerpt could keep.
Judged again, the file gives the report the scan gave.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import zlib
from pathlib import Path

from click.testing import CliRunner
from flask import Flask, Response, jsonify, request

from keywire.cli import main
from keywire.lab import LabServer
from keywire.secrets.catalogue import base62_encode

CREDENTIAL = "kwtest-cred-7Hq2Vx9Lm4Np8Rs1Tz6W"
STRIPE = "sk_live_" + "4eRt7Yu1Io3Pa5Sd8Fg0Hj2K"
AWS = "AKIA" + "Z2XCV3BNM4QWE5RT"
_GITHUB_RANDOM = "q" * 10 + "W" * 10 + "e7" * 5
GITHUB = "ghp_" + _GITHUB_RANDOM + base62_encode(zlib.crc32(_GITHUB_RANDOM.encode()), 6)
SESSION = "Zx8vK2mQ9pL4wR7tY1uI3oP6aS5dF0gH"
PLANTED = [STRIPE, AWS, GITHUB, SESSION]


def _pieces(secret: str) -> list[str]:
    """The secret and each stretch of 12 characters of it."""
    return [secret] + [secret[i : i + 12] for i in range(0, len(secret) - 11, 3)]


def _hostile_app(canaries: list[str]) -> Flask:
    app = Flask("hostile_observed")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str) -> Response:
        echoed = dict(request.headers)
        auth = request.headers.get("Authorization", "")
        canaries.extend(re.findall(r"kw_canary_[0-9a-f]{32}", auth + request.url))
        payload = {
            "echo": echoed,
            "url": request.url,
            "config": {"stripe": STRIPE, "aws": AWS, "github": GITHUB},
            "padding": "x" * 70_000 if path == "big" else "",
        }
        status = 200 if request.is_secure else 401
        response = jsonify(payload)
        response.status_code = status
        response.headers["X-Echo-Key"] = request.headers.get("X-API-Key", "none")
        response.headers["X-Echo-Auth"] = auth or "none"
        response.headers["X-Leak"] = STRIPE
        response.headers["Set-Cookie"] = f"session={SESSION}; Path=/"
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    return app


def _findings(report: dict) -> list[dict]:
    return [f for target in report["targets"] for f in target["findings"]]


def _strings(path: Path) -> str:
    """The file, with every base64 blob in it decoded next to it."""
    text = path.read_text(encoding="utf-8")
    decoded = []
    for line in text.splitlines():
        for blob in re.findall(r'"\$base64":"([A-Za-z0-9+/=]*)"', line):
            decoded.append(base64.b64decode(blob).decode("utf-8", "replace"))
    return text + "\n".join(decoded)


def test_no_secret_credential_or_canary_reaches_the_file(pki, tmp_path):
    canaries: list[str] = []
    app = _hostile_app(canaries)
    saved = tmp_path / "observations.jsonl"
    runner = CliRunner()
    with LabServer(app, ssl_context=pki.server_context()) as https, LabServer(app) as http:
        result = runner.invoke(
            main,
            [
                "scan",
                f"{https.url}/v1/resource",
                "--http-port",
                str(http.port),
                "--ca-file",
                str(pki.ca_file),
                "--header",
                f"X-API-Key: {CREDENTIAL}",
                "--timeout",
                "5",
                "--format",
                "json",
                "--save-observations",
                str(saved),
                "--no-store",
            ],
        )
    assert result.exit_code == 1, result.stderr
    assert canaries, "the lab saw no canary: the test would prove nothing"
    scanned = json.loads(result.stdout)
    assert {"KW101", "KW701", "KW704"} <= {f["rule_id"] for f in _findings(scanned)}
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600

    text = _strings(saved)
    for secret in [*PLANTED, CREDENTIAL, *set(canaries)]:
        leaked = [piece for piece in _pieces(secret) if piece in text]
        assert not leaked, (secret[:8], leaked)
    # What the checks judged is there, scrubbed: the echoed canary as keywire's placeholder.
    assert "kw_canary_" + "x" * 32 in text
    assert "sk_liv" in text and "[credential]" in text

    judged = runner.invoke(main, ["judge", str(saved), "--format", "json"])
    assert judged.exit_code == 1, judged.stderr
    again = json.loads(judged.stdout)
    assert _findings(again) == _findings(scanned)
    assert again["targets"] == scanned["targets"]
    assert again["score"] == scanned["score"]
    assert "no request is sent" in judged.stderr
