"""The registry's static table says what each family module really is.

Choosing families and finding a rule's family read the table without importing any family, so
the table must not drift from the modules: this test imports every one of them and compares.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import keywire.checks
from keywire.checks import GROUPS, NAMES, REGISTRY, SELECTABLE, entry_of, select
from keywire.rules import RULES, family_of


@pytest.mark.parametrize("entry", REGISTRY, ids=[e.name for e in REGISTRY])
def test_entry_matches_its_module(entry):
    family = importlib.import_module(entry.module).FAMILY
    assert family.name == entry.name
    assert family.group == entry.group
    assert family.title == entry.title
    defined = tuple(r.id for r in importlib.import_module(entry.module).RULES)
    assert entry.rules == defined, (
        f"the registry line of {entry.name!r} in keywire/registry.py must list {' '.join(defined)}"
    )
    assert entry.load() is family


def test_every_family_module_is_registered():
    """A module that defines FAMILY but is not in the table would silently never run."""
    registered = {e.module for e in REGISTRY}
    for info in pkgutil.iter_modules(keywire.checks.__path__, "keywire.checks."):
        module = importlib.import_module(info.name)
        if hasattr(module, "FAMILY"):
            assert info.name in registered, f"{info.name} defines FAMILY but is not registered"


def test_names_and_rule_ids_are_unique():
    assert len(NAMES) == len(set(NAMES))
    ids = [r for e in REGISTRY for r in e.rules]
    assert len(ids) == len(set(ids))


def test_lookups_by_rule_and_selection():
    assert entry_of("KW401").name == "tls"
    assert family_of("KW701") == "exposure"
    assert family_of("KW999") == ""
    assert entry_of("KW999") is None
    assert [e.name for e in select(["tls"])] == [e.name for e in REGISTRY if e.group == "tls"]
    assert [e.name for e in select(["exposure"])] == ["exposure"]
    assert "exposure" not in [e.name for e in select(skip=["exposure"])]
    assert all(e.group != "spec" for e in select(exclude_groups=["spec"]))
    assert set(SELECTABLE) == GROUPS | set(NAMES)


def test_rule_catalogue_is_the_families_rules():
    from keywire.registry import HISTORY, SOURCES

    defined = [r.id for s in SOURCES for r in importlib.import_module(s.module).RULES]
    assert list(RULES) == sorted(defined)
    assert len(RULES) == len(list(RULES.values()))
    assert "KW101" in RULES
    assert "KW999" not in RULES
    assert [r for r in HISTORY.rules if r in RULES] == list(HISTORY.rules)
    with pytest.raises(KeyError):
        RULES["KW999"]


def test_which_family_reports_a_rule_is_written_once():
    """The registry's table is the only place: Rule.family, family_of and the rule pages agree."""
    from keywire._ruledocs import render_rule_page
    from keywire.history import rules as history_rules
    from keywire.registry import HISTORY, SOURCES, source_of

    assert set(HISTORY.rules) == history_rules.RULE_IDS
    for source in SOURCES:
        for rule_id in source.rules:
            assert source_of(rule_id) is source
            assert RULES[rule_id].family == family_of(rule_id) == source.name
            assert f"| Check | `{source.name}` |" in render_rule_page(RULES[rule_id])


def test_a_registry_line_that_disagrees_with_its_module_fails_loudly():
    from keywire.registry import RuleSource

    wrong = RuleSource(name="hsts", module="keywire.checks.hsts", rules=("KW140",))
    with pytest.raises(RuntimeError, match=r"keywire.checks.hsts.RULES defines KW140 KW141"):
        wrong.load_rules()


def test_the_root_rules_are_known_without_loading_every_family():
    from keywire.rules import ROOT_RULE_IDS

    assert {r.root_cause for r in RULES.values() if r.root_cause} == ROOT_RULE_IDS
