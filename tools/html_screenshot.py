"""Regenerate docs/report-html.png: the HTML report of `keywire demo`, rendered by headless Chromium.

    python tools/html_screenshot.py

Uses the same DevTools-pipe driver as the tests (tests/reporters/chromium.py) and fails if the page
logs any console error or fetches anything.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reporters.chromium import open_page  # noqa: E402

from keywire.demo import run_demo  # noqa: E402
from keywire.reporters import html  # noqa: E402


def main() -> int:
    report, _labels = run_demo()
    with tempfile.TemporaryDirectory() as directory:
        page = Path(directory) / "report.html"
        page.write_text(html.render(report), encoding="utf-8")
        run = open_page(page, screenshot=True, width=1100)
    if run.errors or len(run.requests) != 1:
        print(f"render problems: {run.errors} {run.requests}", file=sys.stderr)
        return 1
    target = ROOT / "docs" / "report-html.png"
    target.write_bytes(run.screenshot)
    print(f"wrote {target.relative_to(ROOT)} ({len(run.screenshot)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
