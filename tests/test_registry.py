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
    defined = tuple(r.id for r in family.rules)
    assert entry.rules == defined, (
        f"the registry line of {entry.name!r} in keywire/checks/__init__.py must list "
        f"{' '.join(defined)}"
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
    from keywire.checks import FAMILIES
    from keywire.rules import HISTORY_RULE_IDS

    assert list(RULES) == sorted([*(r.id for f in FAMILIES for r in f.rules), *HISTORY_RULE_IDS])
    assert len(RULES) == len(list(RULES.values()))
    assert "KW101" in RULES
    assert "KW999" not in RULES
    with pytest.raises(KeyError):
        RULES["KW999"]


def test_history_rules_are_known_without_importing_them():
    from keywire.history import rules as history_rules
    from keywire.rules import HISTORY, HISTORY_RULE_IDS

    assert set(HISTORY_RULE_IDS) == history_rules.RULE_IDS
    assert HISTORY == history_rules.FAMILY
    assert all(family_of(rule_id) == HISTORY for rule_id in HISTORY_RULE_IDS)
    assert all(RULES[rule_id].id == rule_id for rule_id in HISTORY_RULE_IDS)


def test_the_root_rules_are_known_without_loading_every_family():
    from keywire.rules import ROOT_RULE_IDS

    assert {r.root_cause for r in RULES.values() if r.root_cause} == ROOT_RULE_IDS
