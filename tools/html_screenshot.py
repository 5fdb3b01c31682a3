"""Regenerate the HTML reports' screenshots in docs/, rendered by headless Chromium.

    python tools/html_screenshot.py            # docs/report-html.png: `keywire demo`'s scan report
    python tools/html_screenshot.py tokens     # docs/tokens-html.png: `keywire tokens` on the
                                               # token lab's counter generator (200 tokens)

Uses the same DevTools-pipe driver as the tests (tests/reporters/chromium.py) and fails if the page
logs any console error or fetches anything.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from keywire.demo import run_demo  # noqa: E402
from keywire.reporters import html  # noqa: E402
from keywire.tokens import analyze  # noqa: E402
from keywire.tokens import html as tokens_html  # noqa: E402
from keywire.tokens.report import Collection  # noqa: E402
from keywire.tokens.rules import findings  # noqa: E402
from labs.tokens_api import generators  # noqa: E402
from tests.reporters.chromium import open_page  # noqa: E402


def scan_page() -> str:
    report, _labels = run_demo()
    return html.render(report)


def tokens_page() -> str:
    make = generators()["counter"]
    tokens = [make() for _ in range(200)]
    now = time.time()
    analysis = analyze(tokens, sampled_at=now)
    collection = Collection(
        target="file:counter.txt", source="file", requested=200, collected=200, sampled_at=now
    )
    found = findings(analysis, target=collection.target, source=collection.source)
    return tokens_html.render(analysis, collection, found)


PAGES = {"scan": (scan_page, "report-html.png"), "tokens": (tokens_page, "tokens-html.png")}


def main(which: str = "scan") -> int:
    if which not in PAGES:
        print(f"usage: python tools/html_screenshot.py [{'|'.join(PAGES)}]", file=sys.stderr)
        return 2
    build, name = PAGES[which]
    with tempfile.TemporaryDirectory() as directory:
        page = Path(directory) / "report.html"
        page.write_text(build(), encoding="utf-8")
        run = open_page(page, screenshot=True, width=1100)
    if run.errors or len(run.requests) != 1:
        print(f"render problems: {run.errors} {run.requests}", file=sys.stderr)
        return 1
    target = ROOT / "docs" / name
    target.write_bytes(run.screenshot)
    print(f"wrote {target.relative_to(ROOT)} ({len(run.screenshot)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:2]))
