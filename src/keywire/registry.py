"""The registry: which check families exist, and which rules each reports. Imports no family.

:data:`REGISTRY` is the table of check families: a family that is not listed here does not run.
Each line names the family, its group, its title, the rules it reports and its two modules: the
*check* (``keywire.checks.<module>``: its rules, its frozen observation and a pure ``check``)
and the *probe* (``keywire.probes.<module>``: the network work that produces the observation).
No discovery magic: choosing families (``--only``/``--skip``), knowing which family reports a
rule and validating a configuration read this table and import nothing, so a scan imports the
modules of the families it runs and no others (``--only tls`` never loads the secret catalogue).

Which family reports a rule is written here and nowhere else: :func:`family_of` (and
:attr:`keywire.Rule.family`) read it, and the rule catalogue (:mod:`keywire.rules`) loads a
family's ``RULES`` through it. The two rules only time can show (KW630, KW631: a result compared
with the previous one in the history store) are reported by :data:`HISTORY`, not by a check
family. ``tests/test_registry.py`` keeps the table in step with the modules.

Adding a family: write its check module (see :mod:`keywire.checks._base`) and its probe module
(see :mod:`keywire.probes`), then add a line here with its rule IDs; the sync test says what is
missing.

``FAMILIES`` (every :class:`~keywire.checks._base.Family`, loaded) is available on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ._dataclass import dataclass

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._models import Rule
    from .checks._base import Family


def _import(name: str) -> Any:
    module = sys.modules.get(name)
    if module is None:
        __import__(name)  # (unlike importlib.import_module, seen by -X importtime)
        module = sys.modules[name]
    return module


@dataclass(frozen=True)
class RuleSource:
    """Who reports a set of rules: a check family, or the history store's comparison."""

    name: str
    #: The module whose ``RULES`` holds these rules (the family's check module).
    module: str
    rules: tuple[str, ...]

    def load_rules(self) -> tuple[Rule, ...]:
        """The :class:`~keywire.Rule` objects (imports :attr:`module`), in the table's order.

        Raises ``RuntimeError`` when the module's ``RULES`` and this line disagree.
        """
        defined: tuple[Rule, ...] = tuple(_import(self.module).RULES)
        if tuple(r.id for r in defined) != self.rules:
            raise RuntimeError(
                f"keywire.registry lists {' '.join(self.rules)} for {self.name!r}, but "
                f"{self.module}.RULES defines {' '.join(r.id for r in defined)}"
            )
        return defined


@dataclass(frozen=True)
class FamilyEntry(RuleSource):
    """One line of the registry: what is known of a check family without importing it."""

    group: str
    title: str
    #: The module of its probe (``probe(ctx) -> observation``, the only part that does I/O).
    probe_module: str

    def load(self) -> Family[Any]:
        """The family itself (imports its check module, never its probe)."""
        family: Family[Any] = _import(self.module).FAMILY
        return family

    def load_probe(self) -> Callable[[Any], Awaitable[Any]]:
        """The family's probe (imports its probe module and the network code it uses)."""
        probe: Callable[[Any], Awaitable[Any]] = _import(self.probe_module).probe
        return probe


def _entry(name: str, group: str, title: str, rules: str, *, module: str = "") -> FamilyEntry:
    return FamilyEntry(
        name=name,
        module=f"keywire.checks.{module or name}",
        probe_module=f"keywire.probes.{module or name}",
        group=group,
        title=title,
        rules=tuple(rules.split()),
    )


REGISTRY: tuple[FamilyEntry, ...] = (
    _entry(
        "cleartext",
        "http",
        "Cleartext transport and credentials over HTTP",
        "KW101 KW102 KW110 KW111 KW112 KW113",
    ),
    _entry("redirects", "http", "Redirect chains", "KW103 KW104 KW105 KW106"),
    _entry("proxy_headers", "http", "Spoofable proxy headers", "KW150"),
    _entry("hsts", "http", "HTTP Strict Transport Security", "KW140 KW141 KW142 KW143 KW144 KW145"),
    _entry("auth_schemes", "http", "Authentication schemes offered", "KW130 KW131 KW132 KW133"),
    _entry("query_keys", "http", "Credentials in the query string", "KW120"),
    _entry("cookies", "http", "Cookie attributes", "KW160 KW161 KW162"),
    _entry("mixed_content", "http", "Cleartext links in HTTPS responses", "KW170"),
    _entry(
        "html",
        "http",
        "HTML pages: cleartext forms and active mixed content",
        "KW171 KW172 KW173",
        module="html_pages",
    ),
    _entry("exposure", "http", "Secrets exposed in responses", "KW701 KW702 KW703 KW706 KW708"),
    _entry(
        "breach",
        "http",
        "BREACH: compressed responses that reflect input next to a secret",
        "KW709",
    ),
    _entry("error_pages", "http", "Stack traces and debug pages", "KW707"),
    _entry("authenticated", "http", "Authenticated responses", "KW163 KW180 KW704 KW705"),
    _entry(
        "openapi",
        "openapi",
        "Spec contradictions",
        "KW901 KW902 KW903 KW904 KW905 KW906 KW907 KW910",
    ),
    _entry(
        "tls",
        "tls",
        "TLS protocols, cipher suites, key exchange and certificates",
        "KW401 KW402 KW403 KW404 KW405 KW406 KW407 KW410 KW411 KW412 KW413 KW414 KW415 KW416 "
        "KW417 KW418 KW419 KW420 KW421 KW422 KW423 KW424 KW425 "
        "KW426 KW427 KW428 KW429 KW430 KW431 KW432 KW433 KW434 KW435 KW436 KW437 "
        "KW601 KW602 KW603 KW604 KW605 KW606 KW607 KW608 KW609 KW610 KW611 KW612 KW613 "
        "KW620 KW621 KW622 KW623 KW624 KW625",
    ),
    _entry(
        "revocation",
        "tls",
        "Certificate revocation (stapled OCSP, OCSP responders, CRLs)",
        "KW616 KW617 KW618 KW619",
    ),
    _entry("tokens", "http", "Token randomness", "KW801 KW802 KW803 KW804 KW805 KW806"),
)

#: The rules no check family reports: what changed since a target's previous scan in the store.
HISTORY = RuleSource(name="history", module="keywire.history.rules", rules=("KW630", "KW631"))
#: Every source of rules: the check families, then :data:`HISTORY`.
SOURCES: tuple[RuleSource, ...] = (*REGISTRY, HISTORY)

GROUPS: frozenset[str] = frozenset(e.group for e in REGISTRY)
NAMES: tuple[str, ...] = tuple(e.name for e in REGISTRY)
#: What ``--only`` and ``--skip`` accept: every group and every family name.
SELECTABLE: tuple[str, ...] = tuple(sorted(GROUPS | set(NAMES)))
_BY_RULE: dict[str, RuleSource] = {rule: s for s in SOURCES for rule in s.rules}


def source_of(rule_id: str) -> RuleSource | None:
    """The line of whoever reports ``rule_id`` (a check family or :data:`HISTORY`), or None."""
    return _BY_RULE.get(rule_id)


def entry_of(rule_id: str) -> FamilyEntry | None:
    """The registry line of the check family that reports ``rule_id`` (None if none does)."""
    source = _BY_RULE.get(rule_id)
    return source if isinstance(source, FamilyEntry) else None


def family_of(rule_id: str) -> str:
    """The name of the family that reports ``rule_id`` ("" if none does); imports nothing.

    >>> family_of("KW140"), family_of("KW630"), family_of("KW999")
    ('hsts', 'history', '')
    """
    source = _BY_RULE.get(rule_id)
    return source.name if source is not None else ""


def select(
    only: Collection[str] = (), skip: Collection[str] = (), *, exclude_groups: Collection[str] = ()
) -> tuple[FamilyEntry, ...]:
    """The registry lines chosen by ``only``/``skip`` (names or groups), in report order."""
    chosen = []
    for entry in REGISTRY:
        keys = {entry.name, entry.group}
        if only and not keys & set(only):
            continue
        if keys & set(skip) or entry.group in exclude_groups:
            continue
        chosen.append(entry)
    return tuple(chosen)


def __getattr__(name: str) -> Any:
    if name == "FAMILIES":  # every family, loaded: for the rule documentation and the tests
        families = tuple(entry.load() for entry in REGISTRY)
        globals()["FAMILIES"] = families
        return families
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GROUPS",
    "HISTORY",
    "NAMES",
    "REGISTRY",
    "SELECTABLE",
    "SOURCES",
    "Family",
    "FamilyEntry",
    "RuleSource",
    "entry_of",
    "family_of",
    "select",
    "source_of",
]
