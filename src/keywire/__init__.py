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
from ._scanner import ScanObserver, ScanOptions, scan, scan_async
from ._version import __version__
from .baseline import Baseline, BaselineError, compare_baseline, load_baseline
from .config import Config, ConfigError, load_config
from .net.resolver import ResolutionError, Resolver, StaticResolver, SystemResolver
from .policy import apply_policy
from .rules import RULES, get_rule
from .targets import Target, TargetError, parse_target

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
    "get_rule",
    "load_baseline",
    "load_config",
    "parse_target",
    "scan",
    "scan_async",
]
