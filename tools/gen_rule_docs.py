"""Regenerate docs/rules/<ID>.md and docs/rules/README.md from the rule catalogue.

Run from the repository root: ``python tools/gen_rule_docs.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keywire._ruledocs import render_rule_index, render_rule_page
from keywire.rules import RULES


def main() -> int:
    out = Path("docs/rules")
    out.mkdir(parents=True, exist_ok=True)
    for rule in RULES.values():
        (out / f"{rule.id}.md").write_text(render_rule_page(rule), encoding="utf-8")
    (out / "README.md").write_text(render_rule_index(), encoding="utf-8")
    stale = {p.stem for p in out.glob("KW*.md")} - set(RULES)
    for name in sorted(stale):
        print(f"warning: docs/rules/{name}.md has no rule (retire rules, never delete them)")
    print(f"wrote {len(RULES)} rule pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
