"""The pytest plugin (``keywire_scan``), run by pytest's own ``pytester`` in fresh projects.

Each project is a new directory with an app and a test file, run by a new pytest process that
finds the fixture through keywire's ``pytest11`` entry point, as a user's project would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

from keywire import ScanReport
from keywire.testing import AppScanner, ScanResult, assert_no_findings

pytest_plugins = ["pytester"]

HARDENED_APP = """
    import secrets

    from flask import Flask
    from flask_keywire import KeyWire


    def create_app(instance):
        app = Flask(__name__, instance_path=str(instance))
        app.config["KEYWIRE_PEPPER"] = secrets.token_urlsafe(48)
        keywire = KeyWire(app)

        @app.get("/v1/resource")
        @keywire.required(scopes=["read"])
        def resource():
            return {"data": "..."}

        return app
"""

# What many APIs start as: a key in a header, served on plain HTTP too, no HSTS.
SEED_APP = """
    from flask import Flask, jsonify, request


    def create_app():
        app = Flask(__name__)

        @app.get("/v1/resource")
        def resource():
            if request.headers.get("X-API-Key") != "sk_live_example_not_a_key":
                return jsonify(error="invalid key"), 401
            return {"data": "..."}

        return app
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A new process: the plugin comes from the entry point, warnings are errors.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", *args)


def test_a_hardened_app_grades_a_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=HARDENED_APP)
    pytester.makepyfile(
        test_api="""
        from app import create_app


        def test_grade(keywire_scan, tmp_path):
            result = keywire_scan(create_app(tmp_path), path="/v1/resource")
            assert result.grade == "A"
            assert result.complete


        def test_nothing_at_or_above_low(keywire_scan, tmp_path):
            keywire_scan(create_app(tmp_path), path="/v1/resource").assert_no_findings("low")
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=2)


def test_a_failing_app_lists_its_findings_readably(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=SEED_APP)
    pytester.makepyfile(
        test_api="""
        from app import create_app


        def test_no_medium_or_worse(keywire_scan):
            keywire_scan(create_app(), path="/v1/resource").assert_no_findings("medium")


        def test_grade(keywire_scan):
            assert keywire_scan(create_app(), path="/v1/resource").grade == "A"
        """
    )
    result = _run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            '>       keywire_scan(create_app(), path="/v1/resource").assert_no_findings("medium")',
            "E       AssertionError: keywire found * finding(s) at or above medium in app 'app' "
            "(grade F, score */100):",
            "E         KW101 [critical] API answers over cleartext HTTP",
            "E             http://127.0.0.1:*/v1/resource answered HTTP 401 over cleartext instead "
            "of refusing the request.",
            "E             fix: Serve the API over HTTPS only.*",
            "E         KW111 ?high? API asks for credentials over cleartext HTTP",
            "E         KW140 [medium] HSTS header missing on HTTPS responses",
        ]
    )
    # A plain assert on the grade lists the findings behind it too.
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert keywire graded app 'app' F, score */100, not A",
            "E         findings:",
            "E           KW101 [critical] API answers over cleartext HTTP",
        ]
    )
    text = result.stdout.str()
    assert "sk_live_example_not_a_key" not in text  # the app's own key never shown


def test_the_plugin_costs_nothing_until_used() -> None:
    """Loading the plugin (every pytest run where keywire is installed) imports no scanner,
    no Flask, no HTTP or TLS library."""
    code = textwrap.dedent(
        """
        import json, sys
        before = set(sys.modules)
        import keywire.pytest_plugin
        print(json.dumps(sorted(set(sys.modules) - before)))
        """
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", "import pytest\n" + code],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert set(loaded) <= {"keywire", "keywire._version", "keywire.pytest_plugin"}, loaded


def test_servers_stop_and_ports_are_loopback_chosen_by_the_os(tmp_path) -> None:
    flask = pytest.importorskip("flask")
    seen: list[str] = []
    app = flask.Flask("ports")

    @app.get("/")
    def index() -> str:
        seen.append(flask.request.host)
        return "ok"

    scanner = AppScanner(tmp_path / "ca")
    try:
        result = scanner.scan(app, "/", only=["cleartext"])
    finally:
        scanner.close()
    assert isinstance(result, ScanResult) and result.scanned_any
    assert isinstance(result, ScanReport)  # the report itself: every reporter takes it
    hosts = set(seen)
    assert hosts and all(h.startswith("127.0.0.1:") for h in hosts)
    for host in hosts:
        port = int(host.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
            pass
    with pytest.raises(AssertionError, match=r"KW101 \[critical\] API answers over cleartext"):
        assert_no_findings(
            ScanReport(**{f: getattr(result, f) for f in ScanReport.__dataclass_fields__}), "high"
        )
    with pytest.raises(ValueError, match="unknown severity"):
        result.at_or_above("severe")
