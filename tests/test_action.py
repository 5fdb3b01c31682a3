"""The composite GitHub Action: well-formed, installs from its own checkout, uploads SARIF."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_action_is_composite_and_wired():
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert re.search(r"^runs:\n  using: composite$", text, re.M)
    assert '"$GITHUB_ACTION_PATH"' in text  # installs keywire from the action itself
    assert "github/codeql-action/upload-sarif@v3" in text
    assert '--output "sarif:$KW_SARIF"' in text
    # Inputs reach the shell through env, never as ${{ }} inside run: (script injection).
    for block in re.findall(r"run: \|\n((?:        .*\n|\n)+)", text):
        assert "${{" not in block
    declared = text.split("\ninputs:\n", 1)[1].split("\noutputs:\n", 1)[0]
    for name in re.findall(r"^  ([a-z-]+):\n    description:", declared, re.M):
        assert f"inputs.{name}" in text.split("runs:", 1)[1], f"input {name} is never used"
    example = (ROOT / "docs/github-action.md").read_text(encoding="utf-8")
    assert "security-events: write" in example and "uses: keywire/keywire@" in example
