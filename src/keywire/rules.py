"""The rule catalogue: every rule keywire can report, by permanent ID.

Rule IDs are forever. A rule that is withdrawn stays here with ``retired=True`` so that its ID is
never given to anything else. Rules are defined next to the check that reports them
(:mod:`keywire.checks`); this module only gathers them.

ID ranges: KW1xx transport and credentials, KW4xx-6xx TLS, KW7xx data exposure, KW8xx randomness,
KW9xx API descriptions. The rules only time can show (KW630, KW631: a result compared with the
previous one in the store) live in :mod:`keywire.history.rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._models import Rule
from .checks import FAMILIES
from .history import rules as history_rules

RETIRED: tuple[Rule, ...] = ()


def _collect() -> Mapping[str, Rule]:
    rules: dict[str, Rule] = {}
    gathered = [r for family in FAMILIES for r in family.rules]
    for rule in gathered + list(history_rules.RULES) + list(RETIRED):
        if rule.id in rules:
            raise RuntimeError(f"rule ID {rule.id} is defined twice")
        rules[rule.id] = rule
    return MappingProxyType(dict(sorted(rules.items())))


RULES: Mapping[str, Rule] = _collect()


def get_rule(rule_id: str) -> Rule:
    """The rule with ``rule_id`` (case-insensitive); KeyError if there is none."""
    return RULES[rule_id.strip().upper()]


def family_of(rule_id: str) -> str:
    for family in FAMILIES:
        if any(r.id == rule_id for r in family.rules):
            return family.name
    if rule_id in history_rules.RULE_IDS:
        return history_rules.FAMILY
    return ""
