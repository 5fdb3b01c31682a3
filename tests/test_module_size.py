"""No code module grows past ~400 lines: a module that big holds more than one idea.

Data tables (cipher suites, secret patterns, rule texts, the option table) are exempt. A module
listed in SPLIT_PENDING is over the limit and belongs to work in progress elsewhere; it leaves
the list when it is split, and the list only shrinks.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIMIT = 400

DATA_TABLES = {
    "keywire/checks/_tls_rules.py",  # the TLS rules' texts
    "keywire/compliance/_asvs.py",  # ASVS requirements
    "keywire/compliance/_mappings.py",  # rule -> requirement mappings
    "keywire/options.py",  # the option table
    "keywire/secrets/catalogue.py",  # secret formats
    "keywire/tls/_suite_table.py",  # IANA cipher suites
}
SPLIT_PENDING: set[str] = set()


def _lines(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def test_no_code_module_is_over_the_limit():
    over = {
        p.relative_to(SRC).as_posix(): _lines(p) for p in SRC.rglob("*.py") if _lines(p) > LIMIT
    }
    unexpected = {name: n for name, n in over.items() if name not in DATA_TABLES | SPLIT_PENDING}
    assert unexpected == {}, "split these along their natural seams (docs/contributing.md)"


def test_the_pending_list_only_holds_modules_still_over_the_limit():
    for name in SPLIT_PENDING:
        path = SRC / name
        assert path.is_file() and _lines(path) > LIMIT, f"{name} is done: remove it from the list"
