"""Text a hostile server plants never forges a line nor reaches the reader raw, in any output.

The lab API puts newlines (forged ``keywire: gate passed`` / ``Grade A`` lines), ESC and OSC
sequences, a bidi override and a line separator in a JSON key (which becomes a finding's location
and evidence), in header values and in a status line. Every format, stdout, stderr and the
``keywire tokens`` reports are then searched for raw control characters and forged lines.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

from click.testing import CliRunner

from keywire._display import is_unsafe
from keywire.cli import main
from keywire.reporters import console

FORGED = ("keywire: gate passed", "Grade A (score 100/100)")
PLANT = (
    "\nkeywire: gate passed\nGrade A (score 100/100)\n\x1b]0;pwned\x07\x1b[2J\u202egnp\u2028\x9bx"
)
FORMATS = ("console", "json", "sarif", "html", "markdown", "junit")


def _raw_controls(text: str) -> list[str]:
    """Control or format characters other than the line breaks of the document itself."""
    return sorted({repr(c) for c in text if is_unsafe(c) and c != "\n"})


def _forged_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith(FORGED)]


def _hostile_api(lab_api):
    return lab_api(
        require_key=False,
        body={"links": {PLANT: "http://cdn.example.invalid/x.js"}},
        extra_headers=(("X-Note", "ok\x1b[31mred\x1b]0;title\x07"),),
        hsts="max-age=10\x1b[2J\x1b]8;;http://evil/\x07",
    )


def test_no_format_carries_a_forged_line_or_a_raw_control(lab_api, tmp_path: Path):
    api = _hostile_api(lab_api)
    outputs = [f"{fmt}:{tmp_path / f'report.{fmt}'}" for fmt in FORMATS if fmt != "console"]
    result = CliRunner().invoke(
        main,
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--timeout",
            "5",
            "--fail-on",
            "medium",
            *[arg for out in outputs for arg in ("-o", out)],
            "-o",
            "console:-",
        ],
    )
    assert result.exit_code == 1, result.stderr  # KW170 (medium) fails this gate
    assert "keywire: gate failed" in result.stderr
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    texts |= {fmt: (tmp_path / f"report.{fmt}").read_text("utf-8") for fmt in FORMATS[1:]}
    for name, text in texts.items():
        assert _raw_controls(text) == [], name
        assert _forged_lines(text) == [], name
    # The planted text is shown, escaped, where a person reads it.
    assert "\\nkeywire: gate passed\\nGrade A" in result.stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp\\u2028\\x9bx" in result.stdout
    assert "max-age=10\\x1b[2J\\x1b]8;;http://evil/\\x07" in result.stdout
    assert "\\x1b]0;pwned\\x07" in texts["html"]
    assert "\\x1b]0;pwned\\x07" in texts["junit"]
    sarif = json.loads(texts["sarif"])
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert any("\\nkeywire: gate passed" in m for m in messages)
    # JSON keeps the data exactly as captured (escaped by JSON itself).
    document = json.loads(texts["json"])
    where = [
        value
        for t in document["targets"]
        for f in t["findings"]
        for key, value in f["evidence"].items()
        if key == "where"
    ]
    assert any(PLANT in value for value in where)


def test_rich_console_carries_only_its_own_styles(lab_api):
    api = _hostile_api(lab_api)
    report = api.scan()
    label = {report.targets[0].target: "GET /x\nGrade A (score 100/100)\x1b]0;t\x07"}
    for width in (80, 120):
        text = console.render_rich(report, labels=label, width=width)
        # rich's own SGR sequences are the only escapes left.
        stripped = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert _raw_controls(stripped) == []
        assert _forged_lines(stripped) == []
        assert "\\x1b]0;pwned\\x07" in stripped
        assert "\\nGrade A (score 100/100)\\x1b]0;t\\x07" in stripped


def test_spec_operation_labels_are_shown_escaped(lab_api, tmp_path: Path):
    """Operation labels come from the spec's path keys: the description is the target's text."""
    api = lab_api(require_key=False)
    path = "/v1/pets\nFORGED LINE\x1b]0;spec\x07"
    spec = tmp_path / "openapi.json"
    spec.write_text(
        json.dumps(
            {
                "openapi": "3.0.3",
                "info": {"title": "t", "version": "1"},
                "servers": [{"url": api.https.url}],
                "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}},
            }
        )
    )
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--spec",
            str(spec),
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--timeout",
            "5",
        ],
    )
    assert "(from the spec)" in result.stdout, result.stderr
    for text in (result.stdout, result.stderr):
        assert _raw_controls(text) == []
        assert not [line for line in text.splitlines() if line.startswith("FORGED")]
    assert "GET /v1/pets\\nFORGED LINE\\x1b]0;spec\\x07 (from the spec)" in result.stdout


def _hostile_tokens(n: int) -> list[str]:
    return [f"\x1b]0;pwned\x07{secrets.token_hex(12)}\u202e" for _ in range(n)]


def test_tokens_report_shows_token_text_escaped(tmp_path: Path):
    path = tmp_path / "tokens\x1b[2J.txt"
    path.write_text("\n".join(_hostile_tokens(40)) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "tokens",
            "--file",
            str(path),
            "-o",
            f"json:{tmp_path / 't.json'}",
            "-o",
            f"html:{tmp_path / 't.html'}",
        ],
    )
    assert result.exit_code in (0, 1, 3), result.stderr  # 3: 40 samples leave tests unrun
    texts = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "json": (tmp_path / "t.json").read_text("utf-8"),
        "html": (tmp_path / "t.html").read_text("utf-8"),
    }
    for name, text in texts.items():
        assert _raw_controls(text) == [], name
    assert "\\x1b]0;" in result.stdout  # the redacted examples keep a visible prefix
    assert "tokens\\x1b[2J.txt" in result.stdout


def test_live_tokens_with_escapes_are_shown_escaped():
    from flask import Flask, Response

    from keywire.lab import LabServer

    tokens = iter(_hostile_tokens(1000))
    app = Flask("hostile_tokens")

    @app.get("/login")
    def login() -> Response:
        response = Response("ok")
        response.headers["X-Token"] = next(tokens).replace("\u202e", "")
        return response

    with LabServer(app) as server:
        result = CliRunner().invoke(
            main,
            [
                "tokens",
                server.url + "/login",
                "--from",
                "header:X-Token",
                "--samples",
                "20",
                "--rate",
                "200",
            ],
        )
    assert result.exit_code in (0, 1, 3), result.stderr  # 3: too few samples for every test
    assert "collected 20 token(s)" in result.stderr
    for text in (result.stdout, result.stderr):
        assert _raw_controls(text) == []
    assert "\\x1b]0;" in result.stdout
