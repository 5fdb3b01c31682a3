"""flask_keywire pays only for the key format (issue 11, item 14), and keywire's face is lazy.

A wall, tested twice: in the source (flask_keywire imports nothing of keywire but
``keywire.keyformat``) and at run time (a Flask app with KeyWire serving a request has loaded no
scanner module). The cost in milliseconds is measured in ``bench/flask_bench.py``, not here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import flask_keywire
import keywire

SRC = Path(flask_keywire.__file__).parent
ALLOWED = {"keywire", "keywire._version", "keywire.keyformat"}


def _run(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_flask_keywire_source_imports_only_the_key_format():
    offenders = []
    for path in sorted(SRC.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] == "keywire" and n != "keywire.keyformat"
            ]
    assert offenders == []


def test_a_flask_app_with_keywire_loads_no_scanner_module(tmp_path):
    loaded = _run(
        f"""
import json, sys
from flask import Flask
from flask_keywire import KeyWire, SQLiteKeyStore
app = Flask("wall")
app.config["KEYWIRE_PEPPER"] = "p" * 40
keywire = KeyWire(app, store=SQLiteKeyStore({str(tmp_path / "k.db")!r}))

@app.get("/r")
@keywire.required(scopes=["read"])
def r():
    return {{}}

with app.app_context():
    key, _ = keywire.create_key("c", scopes=["read"])
client = app.test_client()
assert client.get("/r", base_url="https://localhost", headers={{"X-API-Key": key}}).status_code == 200
assert client.get("/r", headers={{"X-API-Key": key}}).status_code == 403
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
      ("keywire", "httpx", "rich", "cryptography", "jinja2_time", "yaml"))))
"""
    )
    assert set(loaded) <= ALLOWED, loaded


def test_keywire_face_is_lazy_and_complete():
    loaded = _run(
        "import json, sys, keywire; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('keywire'))))"
    )
    assert set(loaded) <= {"keywire", "keywire._version"}
    assert set(keywire._LAZY) == set(keywire.__all__) - {"__version__"}
    assert set(keywire.__all__) <= set(dir(keywire))
    for name in keywire.__all__:
        assert getattr(keywire, name) is not None
    assert keywire.scan.__module__ == "keywire._scanner"
    with pytest.raises(AttributeError, match="no_such_name"):
        keywire.no_such_name  # noqa: B018
