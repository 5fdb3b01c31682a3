"""docs/README.md indexes every document, and every link in it resolves."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_document_is_indexed():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#]+)", index))
    documents = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert documents - linked == set(), "add these to docs/README.md"
    for target in linked:
        assert (DOCS / target).exists(), target
