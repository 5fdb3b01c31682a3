"""The rule catalogue is complete, documented, and its IDs are permanent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keywire._ruledocs import module_path, render_rule_index, render_rule_page
from keywire.checks import FAMILIES
from keywire.registry import SOURCES
from keywire.rules import RULES, get_rule

ROOT = Path(__file__).resolve().parents[1]
ALL_RULES = list(RULES.values())


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_rule_is_complete(rule):
    assert re.fullmatch(r"KW\d{3}", rule.id)
    assert rule.title and rule.title[0].isupper()
    assert rule.cwe and all(isinstance(n, int) and n > 0 for n in rule.cwe)
    assert re.fullmatch(r"API([1-9]|10):2023", rule.owasp_api)
    assert len(rule.description) > 40
    assert len(rule.remediation) > 20
    assert rule.references and all(r.startswith("https://") for r in rule.references)
    if rule.grade_cap is not None:
        assert rule.grade_cap in ("A+", "A", "A-", "B", "C", "D", "E", "F")


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_rule_doc_page_is_current(rule):
    page = ROOT / rule.doc_path
    assert page.is_file(), f"missing {rule.doc_path}: run python tools/gen_rule_docs.py"
    assert page.read_text(encoding="utf-8") == render_rule_page(rule), (
        f"{rule.doc_path} is stale: run python tools/gen_rule_docs.py"
    )


def test_rule_index_is_current():
    assert (ROOT / "docs/rules/README.md").read_text(encoding="utf-8") == render_rule_index()


def test_every_doc_page_has_a_rule():
    """A page without a rule means a rule was deleted: retire it instead."""
    pages = {p.stem for p in (ROOT / "docs/rules").glob("KW*.md")}
    assert pages == set(RULES)


def test_rule_ids_are_unique_across_families():
    ids = [r.id for s in SOURCES for r in s.load_rules()]
    assert len(ids) == len(set(ids))


def test_family_names_are_unique():
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))


def test_get_rule_is_case_insensitive_and_strict():
    assert get_rule("kw101").id == "KW101"
    with pytest.raises(KeyError):
        get_rule("KW999")


@pytest.mark.parametrize("rule", ALL_RULES, ids=[r.id for r in ALL_RULES])
def test_rule_page_names_the_module_that_defines_it(rule):
    path = module_path(rule.module)
    assert path, rule.module
    source = (ROOT / path).read_text(encoding="utf-8")
    assert f'"{rule.id}"' in source
    assert f"[`{rule.module}`](../../{path})" in render_rule_page(rule)
