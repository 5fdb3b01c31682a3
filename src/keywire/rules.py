"""The rule catalogue: every rule keywire can report, by permanent ID.

Rule IDs are forever. A rule that is withdrawn stays here with ``retired=True`` so that its ID is
never given to anything else. Rules are defined next to the check that reports them
(:mod:`keywire.checks`); this module only gathers them.

:data:`RULES` is read-only and gathered lazily: looking up one rule imports only the family that
defines it (the registry knows which, see :mod:`keywire.registry`), so scoring a scan
with ``--only tls`` never loads the other families. Iterating over it loads them all.

ID ranges: KW1xx transport and credentials, KW4xx-6xx TLS, KW7xx data exposure, KW8xx randomness,
KW9xx API descriptions. The rules only time can show (KW630, KW631: a result compared with the
previous one in the store) live in :mod:`keywire.history.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .registry import SOURCES, family_of, source_of

DOCS_BASE = "https://github.com/keywire/keywire/blob/main/"
"""Where rule pages (``docs/rules/<ID>.md``) are published; reports link there."""

if TYPE_CHECKING:
    from ._models import Rule

RETIRED: tuple[Rule, ...] = ()
#: The rules other rules name as their root cause (:attr:`Rule.root_cause`), known without
#: loading every family (scoring needs them; ``tests/test_registry.py`` keeps this in step).
ROOT_RULE_IDS: frozenset[str] = frozenset({"KW101"})


class _Catalogue(Mapping[str, "Rule"]):
    """Rule ID → :class:`Rule`, sorted by ID, each family's rules loaded on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, Rule] = {r.id: r for r in RETIRED}
        self._sources: set[str] = set()
        ids = {r for s in SOURCES for r in s.rules}
        self._ids = sorted(ids | {r.id for r in RETIRED})

    def _load(self, name: str) -> None:
        if name in self._sources:
            return
        source = next(s for s in SOURCES if s.name == name)
        for rule in source.load_rules():
            defined = self._loaded.setdefault(rule.id, rule)
            if defined is not rule:
                raise RuntimeError(f"rule ID {rule.id} is defined twice")
        self._sources.add(name)

    def __getitem__(self, rule_id: str) -> Rule:
        rule = self._loaded.get(rule_id)
        if rule is None:
            source = source_of(rule_id)
            if source is None:
                raise KeyError(rule_id)
            self._load(source.name)
            rule = self._loaded[rule_id]
        return rule

    def __iter__(self) -> Iterator[str]:
        for source in SOURCES:
            self._load(source.name)
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, rule_id: object) -> bool:
        return isinstance(rule_id, str) and (
            rule_id in self._loaded or source_of(rule_id) is not None
        )

    def __repr__(self) -> str:
        return f"<keywire rule catalogue: {len(self._ids)} rules>"


RULES: Mapping[str, Rule] = _Catalogue()


def get_rule(rule_id: str) -> Rule:
    """The rule with ``rule_id`` (case-insensitive); KeyError if there is none."""
    return RULES[rule_id.strip().upper()]


__all__ = ["RETIRED", "RULES", "family_of", "get_rule"]
