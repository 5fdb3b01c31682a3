"""keywire: can someone on the wire steal your API's keys?

A black-box scanner for HTTP APIs. Give it URLs; it checks how credentials travel (cleartext HTTP,
redirects, query strings, auth schemes), the protection around them (HSTS, cookies, proxy headers)
and secrets exposed in responses, and returns a graded report.

>>> import keywire
>>> report = keywire.scan("https://api.example.com/v1/resource")  # doctest: +SKIP
>>> report.score.grade, [f.rule_id for f in report.findings]  # doctest: +SKIP
('B', ['KW140'])

The library never prints and never imports the CLI stack (click, rich).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._models import (
        BaselineComparison,
        BaselineState,
        Category,
        CategoryScore,
        CheckOutcome,
        Confidence,
        Finding,
        Gate,
        OutcomeStatus,
        Policy,
        Rule,
        ScanReport,
        Score,
        Severity,
        Suppression,
        TargetResult,
    )
    from ._scanner import ScanObserver, scan, scan_async
    from .baseline import Baseline, BaselineError, compare_baseline, load_baseline
    from .config import Config, ConfigError, load_config
    from .finish import finish_report
    from .net.resolver import ResolutionError, Resolver, StaticResolver, SystemResolver
    from .policy import apply_policy
    from .rules import RULES, get_rule
    from .scanoptions import ScanOptions
    from .targets import Target, TargetError, parse_target

# Public names resolve on first use (PEP 562), as httpx and rich keep their faces cheap: importing
# keywire.keyformat (all a Flask application with flask_keywire needs) must not load the scanner.
_LAZY = {
    "BaselineComparison": "._models",
    "BaselineState": "._models",
    "Category": "._models",
    "CategoryScore": "._models",
    "CheckOutcome": "._models",
    "Confidence": "._models",
    "Finding": "._models",
    "Gate": "._models",
    "OutcomeStatus": "._models",
    "Policy": "._models",
    "Rule": "._models",
    "ScanReport": "._models",
    "Score": "._models",
    "Severity": "._models",
    "Suppression": "._models",
    "TargetResult": "._models",
    "ScanObserver": "._scanner",
    "ScanOptions": ".scanoptions",
    "scan": "._scanner",
    "scan_async": "._scanner",
    "Baseline": ".baseline",
    "BaselineError": ".baseline",
    "compare_baseline": ".baseline",
    "load_baseline": ".baseline",
    "Config": ".config",
    "ConfigError": ".config",
    "load_config": ".config",
    "finish_report": ".finish",
    "ResolutionError": ".net.resolver",
    "Resolver": ".net.resolver",
    "StaticResolver": ".net.resolver",
    "SystemResolver": ".net.resolver",
    "apply_policy": ".policy",
    "RULES": ".rules",
    "get_rule": ".rules",
    "Target": ".targets",
    "TargetError": ".targets",
    "parse_target": ".targets",
}

__all__ = [
    "RULES",
    "Baseline",
    "BaselineComparison",
    "BaselineError",
    "BaselineState",
    "Category",
    "CategoryScore",
    "CheckOutcome",
    "Confidence",
    "Config",
    "ConfigError",
    "Finding",
    "Gate",
    "OutcomeStatus",
    "Policy",
    "ResolutionError",
    "Resolver",
    "Rule",
    "ScanObserver",
    "ScanOptions",
    "ScanReport",
    "Score",
    "Severity",
    "StaticResolver",
    "Suppression",
    "SystemResolver",
    "Target",
    "TargetError",
    "TargetResult",
    "__version__",
    "apply_policy",
    "compare_baseline",
    "finish_report",
    "get_rule",
    "load_baseline",
    "load_config",
    "parse_target",
    "scan",
    "scan_async",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # resolved once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
