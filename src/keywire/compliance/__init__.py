"""Compliance mapping: which requirement of OWASP ASVS 5.0, PCI DSS v4.0.1 and NIST SP 800-52
Rev. 2 each rule's finding breaks, with the source of every mapping.

Data only, next to the rule catalogue: this package imports nothing of keywire (no checks, no
network code), so reporters, the docs generator and any tool can read it cheaply. Reports show
the mappings per finding (JSON ``compliance``, SARIF tags and properties, HTML, Markdown, the
rule pages) and ``keywire scan --framework ID`` groups the report by requirement.

>>> [m.requirement.id for m in mappings_for("KW403", "nist-800-52")]
['3.1']
>>> FRAMEWORKS["pci-dss"].title
'PCI DSS v4.0.1'

The requirement lists: ASVS 5.0.0 complete (every ID of the standard); PCI DSS and NIST SP 800-52
the requirements and sections that concern what keywire observes (see :mod:`._mappings` for what
was verified and what was left out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol, TypeVar

from .._dataclass import dataclass
from . import _asvs
from ._mappings import ASVS_SUMMARIES, MAPPINGS

__all__ = [
    "FRAMEWORKS",
    "MAPPINGS",
    "REQUIREMENTS",
    "Framework",
    "Requirement",
    "RuleMapping",
    "by_requirement",
    "mappings_for",
    "tags_for",
]


@dataclass(frozen=True, kw_only=True)
class Framework:
    """A compliance framework: its CLI ID, title and where the requirements are published."""

    id: str
    title: str
    source: str
    #: How a requirement is named in citations ("requirement", "section").
    unit: str
    #: Short prefix for tags and compact listings.
    short: str


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """One requirement of a compliance framework that a rule maps to."""

    framework: str
    id: str
    title: str
    section: str = ""
    #: Where the requirement is published (a URL), for the citation.
    source: str = ""

    @property
    def label(self) -> str:
        return f"{FRAMEWORKS[self.framework].short} {self.id}"


@dataclass(frozen=True, kw_only=True)
class RuleMapping:
    """One rule mapped to one requirement, with why it applies and the source to check it in."""

    rule_id: str
    requirement: Requirement
    why: str

    @property
    def framework(self) -> str:
        return self.requirement.framework

    @property
    def citation(self) -> str:
        """Where to read the requirement: the framework, the requirement and its source."""
        framework = FRAMEWORKS[self.framework]
        return (
            f"{framework.title}, {framework.unit} {self.requirement.id}: {self.requirement.source}"
        )

    def as_dict(self) -> dict[str, str]:
        """The mapping as JSON-ready data (the ``compliance`` items of reports)."""
        return {
            "framework": self.framework,
            "id": self.requirement.id,
            "title": self.requirement.title,
            "why": self.why,
            "citation": self.citation,
        }


_ASVS_RELEASE = "https://github.com/OWASP/ASVS/blob/v5.0.0_release/5.0/en/"
_PCI_SOURCE = "https://www.pcisecuritystandards.org/document_library/ (PCI DSS v4.0.1, June 2024)"
_NIST_SOURCE = "https://doi.org/10.6028/NIST.SP.800-52r2"

FRAMEWORKS: Mapping[str, Framework] = MappingProxyType(
    {
        "asvs": Framework(
            id="asvs",
            title="OWASP ASVS 5.0.0",
            source="https://github.com/OWASP/ASVS/tree/v5.0.0_release/5.0",
            unit="requirement",
            short="ASVS",
        ),
        "pci-dss": Framework(
            id="pci-dss",
            title="PCI DSS v4.0.1",
            source=_PCI_SOURCE,
            unit="requirement",
            short="PCI DSS",
        ),
        "nist-800-52": Framework(
            id="nist-800-52",
            title="NIST SP 800-52 Rev. 2",
            source=_NIST_SOURCE,
            unit="section",
            short="SP 800-52r2",
        ),
    }
)

# PCI DSS v4.0.1: the requirements that concern what keywire observes, titles in short.
_PCI: tuple[tuple[str, str, str], ...] = (
    (
        "2.2.7",
        "All non-console administrative access (browser interfaces and APIs included) is encrypted with strong cryptography",
        "2.2 System components are configured and managed securely",
    ),
    ("3.4.1", "PAN is masked when displayed", "3.4 Access to displays of full PAN is restricted"),
    (
        "3.5.1",
        "PAN is rendered unreadable anywhere it is stored",
        "3.5 PAN is secured wherever it is stored",
    ),
    (
        "4.2.1",
        "Strong cryptography and security protocols safeguard PAN during transmission over open, public networks (trusted, valid certificates; only secure versions, no fallback; appropriate strength)",
        "4.2 PAN is protected with strong cryptography during transmission",
    ),
    (
        "4.2.1.1",
        "An inventory of the trusted keys and certificates protecting PAN in transmission is maintained",
        "4.2 PAN is protected with strong cryptography during transmission",
    ),
    (
        "4.2.2",
        "PAN is secured with strong cryptography whenever sent via end-user messaging",
        "4.2 PAN is protected with strong cryptography during transmission",
    ),
    (
        "6.2.4",
        "Software engineering techniques prevent or mitigate common software attacks (injection, cryptography usage, business logic, access control) in bespoke and custom software",
        "6.2 Bespoke and custom software are developed securely",
    ),
    (
        "6.4.1",
        "Public-facing web applications are protected against known attacks (reviews or an automated solution)",
        "6.4 Public-facing web applications are protected against attacks",
    ),
    (
        "6.4.2",
        "An automated technical solution detects and prevents web-based attacks in front of public-facing web applications",
        "6.4 Public-facing web applications are protected against attacks",
    ),
    (
        "8.3.1",
        "All user access to system components is authenticated",
        "8.3 Strong authentication for users and administrators is established and managed",
    ),
    (
        "8.3.2",
        "Strong cryptography renders all authentication factors unreadable during transmission and storage",
        "8.3 Strong authentication for users and administrators is established and managed",
    ),
    (
        "8.6.2",
        "Passwords of application and system accounts are not hard coded in scripts, configuration files or source code",
        "8.6 Use of application and system accounts is strictly managed",
    ),
)

# NIST SP 800-52 Rev. 2, "Minimum Requirements for TLS Servers": the sections rules map to.
_NIST: tuple[tuple[str, str, str], ...] = (
    (
        "3.1",
        "Protocol Version Support: TLS 1.2 required, TLS 1.3 required since January 2024, no SSL 2.0 or 3.0, TLS 1.0 and 1.1 only where needed",
        "3 Minimum Requirements for TLS Servers",
    ),
    (
        "3.2",
        "Server Keys and Certificates: an X.509 v3 certificate from a CA, key and signature of at least 112 bits of security",
        "3 Minimum Requirements for TLS Servers",
    ),
    (
        "3.3.1",
        "Cipher Suites: only suites of NIST-approved algorithms, ephemeral key exchange preferred",
        "3.3 Cryptographic Support",
    ),
)


def _asvs_requirements() -> list[Requirement]:
    out = []
    for req_id, section, level in _asvs.REQUIREMENTS:
        chapter = int(req_id[1:].split(".")[0])
        _, filename = _asvs.CHAPTERS[chapter]
        title = ASVS_SUMMARIES.get(req_id, section)
        out.append(
            Requirement(
                framework="asvs",
                id=req_id,
                title=title,
                section=f"{'.'.join(req_id.split('.')[:2])} {section} (L{level})",
                source=_ASVS_RELEASE + filename,
            )
        )
    return out


def _listed(framework: str, rows: Sequence[tuple[str, str, str]], source: str) -> list[Requirement]:
    return [
        Requirement(framework=framework, id=i, title=t, section=s, source=source)
        for i, t, s in rows
    ]


REQUIREMENTS: Mapping[str, Mapping[str, Requirement]] = MappingProxyType(
    {
        "asvs": MappingProxyType({r.id: r for r in _asvs_requirements()}),
        "pci-dss": MappingProxyType({r.id: r for r in _listed("pci-dss", _PCI, _PCI_SOURCE)}),
        "nist-800-52": MappingProxyType(
            {r.id: r for r in _listed("nist-800-52", _NIST, _NIST_SOURCE)}
        ),
    }
)
"""Every requirement ID keywire knows, per framework (KeyError-free lookups: ``.get``)."""


def _build() -> Mapping[str, tuple[RuleMapping, ...]]:
    by_rule: dict[str, list[RuleMapping]] = {}
    for rule_id, framework, req_id, why in MAPPINGS:
        requirement = REQUIREMENTS[framework][req_id]  # a typo fails at import (and in tests)
        by_rule.setdefault(rule_id, []).append(
            RuleMapping(rule_id=rule_id, requirement=requirement, why=why)
        )
    order = list(FRAMEWORKS)
    return MappingProxyType(
        {
            rule: tuple(sorted(items, key=lambda m: order.index(m.framework)))
            for rule, items in sorted(by_rule.items())
        }
    )


_BY_RULE = _build()


def mappings_for(rule_id: str, framework: str | None = None) -> tuple[RuleMapping, ...]:
    """The mappings of ``rule_id`` (all frameworks, or one), ASVS first."""
    found = _BY_RULE.get(rule_id, ())
    return tuple(m for m in found if framework is None or m.framework == framework)


def tags_for(rule_id: str) -> list[str]:
    """SARIF tags for ``rule_id``: ``compliance/<framework>/<id>``."""
    return [f"compliance/{m.framework}/{m.requirement.id}" for m in mappings_for(rule_id)]


class _HasRule(Protocol):
    @property
    def rule_id(self) -> str: ...


T = TypeVar("T", bound=_HasRule)


def by_requirement(
    findings: Iterable[T], framework: str
) -> tuple[list[tuple[Requirement, list[T]]], list[T]]:
    """``findings`` grouped by the requirement of ``framework`` they break, in the framework's
    order, and the findings no requirement of it covers. A finding mapped to two requirements
    appears under both."""
    groups: dict[str, list[T]] = {}
    unmapped: list[T] = []
    for finding in findings:
        found = mappings_for(finding.rule_id, framework)
        if not found:
            unmapped.append(finding)
        for mapping in found:
            groups.setdefault(mapping.requirement.id, []).append(finding)
    order = list(REQUIREMENTS[framework])
    ranked = sorted(groups, key=order.index)
    return [(REQUIREMENTS[framework][i], groups[i]) for i in ranked], unmapped
