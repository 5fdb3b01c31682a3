"""Error pages that show stack traces or a framework's debug page.

A stack trace tells an attacker the framework, its version, file paths and often configuration
values; an interactive debugger (Werkzeug's, for one) runs code for whoever opens it. keywire
examines every error response it already has (4xx and 5xx) and the host's not-found page
(:mod:`keywire.probes._sources`), and matches signatures of the common stacks' traces and debug
pages. It never sends malformed input to provoke an error.

Rule: KW707.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..redact import redact_url
from ._base import Family, not_applicable

DEBUG_PAGE = Rule(
    id="KW707",
    title="Stack trace or debug page in an error response",
    cwe=(209, 215),
    owasp_api="API8:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "An error response shows a stack trace or a framework's debug page: file paths, code, "
        "library versions and sometimes settings and keys. An interactive debugger (Werkzeug, "
        "Django's technical page with settings, Laravel Ignition) is reported at high severity: "
        "it can leak every secret of the process or run code."
    ),
    remediation=(
        "Turn debug mode off in production and answer errors with a generic body (a problem "
        "detail with an error ID); log the trace on the server instead."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/209.html",
        "https://cwe.mitre.org/data/definitions/215.html",
        "https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/",
    ),
    flask_fix=(
        "app.config['DEBUG'] = False  # never app.run(debug=True) in production\n\n"
        "@app.errorhandler(Exception)\n"
        "def internal_error(error):\n"
        "    app.logger.exception('unhandled error')\n"
        "    return {'error': 'internal error'}, 500\n"
    ),
)

RULES = (DEBUG_PAGE,)


@dataclass(frozen=True, kw_only=True)
class Signature:
    id: str
    name: str
    pattern: re.Pattern[bytes]
    interactive: bool = False


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        id="werkzeug-debugger",
        name="Werkzeug interactive debugger",
        pattern=re.compile(rb"Werkzeug Debugger|__debugger__|class=\"debugger\""),
        interactive=True,
    ),
    Signature(
        id="django-debug",
        name="Django debug page",
        pattern=re.compile(rb"You're seeing this error because you have <code>DEBUG = True</code>"),
        interactive=True,
    ),
    Signature(
        id="laravel-ignition",
        name="Laravel Ignition / Whoops debug page",
        pattern=re.compile(
            rb"Whoops! There was an error|Whoops container|facade/ignition|spatie/laravel-ignition"
        ),
        interactive=True,
    ),
    Signature(
        id="python-traceback",
        name="Python traceback",
        pattern=re.compile(rb"Traceback \(most recent call last\):\s+File \""),
    ),
    Signature(
        id="java-stack-trace",
        name="Java stack trace",
        pattern=re.compile(
            rb"(?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b[^\n]{0,300}\n\s+at [\w$.<>]+\([\w$]+\.java:\d+\)"
        ),
    ),
    Signature(
        id="dotnet-stack-trace",
        name=".NET stack trace",
        pattern=re.compile(
            rb"Server Error in '[^']*' Application|\s+at [\w.`<>]+\([^)]*\) in [^\n]+:line \d+"
        ),
    ),
    Signature(
        id="node-stack-trace",
        name="Node.js stack trace",
        pattern=re.compile(
            rb"(?:Error|TypeError|ReferenceError): [^\n]{0,300}\n\s+at [^\n]+\((?:/|[A-Z]:\\|node:)[^\n]+:\d+:\d+\)"
        ),
    ),
    Signature(
        id="go-panic",
        name="Go panic",
        pattern=re.compile(rb"goroutine \d+ \[running\]:"),
    ),
    Signature(
        id="php-error",
        name="PHP error with file path",
        pattern=re.compile(
            rb"<b>(?:Fatal error|Warning|Parse error)</b>: .{0,300} in <b>/[^<]+</b> on line <b>\d+</b>"
        ),
    ),
    Signature(
        id="ruby-trace",
        name="Ruby on Rails trace",
        pattern=re.compile(rb"Rails\.root: |Application Trace \| Framework Trace"),
    ),
)


@dataclass(frozen=True, kw_only=True)
class ErrorPageSeen:
    url: str
    status: int
    signature: Signature


@dataclass(frozen=True, kw_only=True)
class ErrorPageObservation:
    target: str
    error_responses: int
    seen: tuple[ErrorPageSeen, ...]


def match_signatures(body: bytes) -> list[Signature]:
    return [s for s in SIGNATURES if s.pattern.search(body)]


def check(obs: ErrorPageObservation) -> Sequence[Finding]:
    if obs.error_responses == 0:
        raise not_applicable("no error response to examine")
    findings: dict[str, Finding] = {}
    for item in obs.seen:
        finding = DEBUG_PAGE.finding(
            target=obs.target,
            message=(
                f"The HTTP {item.status} answer of {redact_url(item.url)} shows a "
                f"{item.signature.name}."
            ),
            evidence={
                "url": redact_url(item.url),
                "status": str(item.status),
                "signature": item.signature.name,
            },
            severity=Severity.HIGH if item.signature.interactive else None,
            location=item.signature.id,
        )
        findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


FAMILY: Family[ErrorPageObservation] = Family(
    name="error_pages",
    title="Stack traces and debug pages",
    group="http",
    observation=ErrorPageObservation,
    check=check,
)
