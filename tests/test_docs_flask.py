"""The flask_keywire documentation runs as written (issue 11, item 12).

Every fenced block of docs/flask_keywire.md and of README's flask_keywire section is run, or its
marker says why not (see tools/docblocks.py). The Quick start runs end to end in a fresh directory:
app.py as shown, a pepper, a key from ``flask keywire create``, ``flask keywire serve-dev`` in the
background and curl over HTTPS with the CA it printed, answering with the key's owner. (.ci/run
runs it once more with its install step, in a fresh virtual environment with the built wheel.)
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docblocks", ROOT / "tools" / "docblocks.py")
assert _spec is not None and _spec.loader is not None
docblocks = importlib.util.module_from_spec(_spec)
sys.modules["docblocks"] = docblocks
_spec.loader.exec_module(docblocks)

DOC_BLOCKS = docblocks.blocks(docblocks.DOC)
README_BLOCKS = docblocks.readme_blocks()
KINDS = {"run", "file", "quickstart", "compile", "cli", "skip"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("block", DOC_BLOCKS + README_BLOCKS, ids=lambda b: f"{b.path}:{b.line}")
def test_every_code_block_is_run_or_says_why_not(block):
    if block.lang in ("", "text"):
        assert block.kind == "run", "output samples need no marker"
        return
    assert block.lang in ("python", "sh"), f"{block.path}:{block.line}: unknown language"
    assert block.kind in KINDS, block
    if block.lang == "sh":
        assert block.kind in ("quickstart", "cli", "skip"), (
            f"{block.path}:{block.line}: a shell block must be part of the quick start, a CLI "
            "synopsis, or skipped with a reason"
        )
    if block.kind in ("skip", "compile"):
        assert block.detail, f"{block.path}:{block.line}: say why it is not run"
    if block.kind == "skip" and "test" in block.detail:
        # The reason names the test that covers the block: it must exist.
        for name in re.findall(r"::(test_\w+)", block.detail):
            assert any(
                f"def {name}(" in p.read_text(encoding="utf-8") for p in ROOT.glob("tests/**/*.py")
            ), name


def test_python_blocks_of_the_docs_run_in_order(tmp_path):
    result = docblocks.run_python(tmp_path, DOC_BLOCKS)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [b for b in DOC_BLOCKS if b.lang == "python" and b.kind in ("run", "file")]
    assert result.stdout.count("ok ") == len(ran) >= 4


def test_python_block_of_the_readme_runs(tmp_path):
    result = docblocks.run_python(tmp_path, README_BLOCKS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok README.md" in result.stdout


def test_cli_synopsis_matches_the_commands():
    from flask_keywire._cli import keywire_cli

    synopsis = [b for b in DOC_BLOCKS if b.kind == "cli"]
    assert synopsis
    seen = set()
    for line in synopsis[0].code.splitlines():
        words = line.split("#")[0].split()
        assert words[:2] == ["flask", "keywire"], line
        command = keywire_cli.commands[words[2]]
        seen.add(words[2])
        options = {opt for param in command.params for opt in param.opts}
        for option in re.findall(r"--[\w-]+", line):
            assert option in options, (words[2], option)
    assert seen == set(keywire_cli.commands)


@pytest.mark.tools
def test_quick_start_runs_to_the_end(tmp_path):
    """The Quick start as written, minus its install step (this environment has keywire)."""
    if shutil.which("curl") is None:
        if os.environ.get("KEYWIRE_REQUIRE_TOOLS") == "1":
            pytest.fail("curl is required (KEYWIRE_REQUIRE_TOOLS=1) but not installed")
        pytest.skip("the Quick start uses curl")
    result = docblocks.run_quickstart(tmp_path, install=False, port=_free_port(), timeout=180)
    assert result.returncode == 0, result.stderr
    assert '"owner":"billing"' in result.stdout.replace(" ", ""), result.stdout + result.stderr
    assert "CA certificate:" in result.stderr
    assert (tmp_path / "instance" / "keywire-dev" / "ca.pem").exists()
    assert not (tmp_path / "instance" / "keywire-dev" / "ca-key.pem").exists()
