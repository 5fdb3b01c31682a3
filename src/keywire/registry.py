"""The check families keywire runs, in report order.

:data:`REGISTRY` is the registry: a family that is not listed here does not run. It is a static
table (name, module, group, title, rule IDs), so that choosing families (``--only``/``--skip``), knowing
which family reports a rule, and validating a configuration import no family: a scan imports the
modules of the families it runs and no others (``--only tls`` never loads the secret catalogue).
``tests/test_registry.py`` keeps the table in sync with the modules, and ``tests/test_rules.py``
with the rule catalogue and ``docs/rules/``.

Adding a family: write its module (see :mod:`keywire.checks._base`), then add a line here with
its rule IDs; the sync test says what is missing.

``FAMILIES`` (every :class:`Family`, loaded) is still available, on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checks._base import Family


@dataclass(frozen=True)
class FamilyEntry:
    """One line of the registry: what is known of a family without importing it."""

    name: str
    module: str
    group: str
    title: str
    rules: tuple[str, ...]

    def load(self) -> Family[Any]:
        """The family itself (imports its module)."""
        module = sys.modules.get(self.module)
        if module is None:
            __import__(self.module)  # (unlike importlib.import_module, seen by -X importtime)
            module = sys.modules[self.module]
        family: Family[Any] = module.FAMILY
        return family


def _entry(name: str, group: str, title: str, rules: str, *, module: str = "") -> FamilyEntry:
    return FamilyEntry(
        name=name,
        module=f"keywire.checks.{module or name}",
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

GROUPS: frozenset[str] = frozenset(e.group for e in REGISTRY)
NAMES: tuple[str, ...] = tuple(e.name for e in REGISTRY)
#: What ``--only`` and ``--skip`` accept: every group and every family name.
SELECTABLE: tuple[str, ...] = tuple(sorted(GROUPS | set(NAMES)))
_BY_RULE: dict[str, FamilyEntry] = {rule: e for e in REGISTRY for rule in e.rules}


def entry_of(rule_id: str) -> FamilyEntry | None:
    """The registry line of the family that reports ``rule_id`` (None if no family does)."""
    return _BY_RULE.get(rule_id)


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
    if name == "Family":
        from .checks._base import Family

        return Family
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GROUPS",
    "NAMES",
    "REGISTRY",
    "SELECTABLE",
    "Family",
    "FamilyEntry",
    "entry_of",
    "select",
]
