"""The ``keywire`` command line.

stdout carries the report and nothing else; progress and messages go to stderr. Exit codes:
0 the gate passed, 1 the gate failed, 2 usage or configuration error, 3 nothing could be scanned.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click

from . import __version__
from ._models import ScanReport, Severity, TargetResult
from ._scanner import ScanOptions, scan
from .checks import FAMILIES, GROUPS
from .reporters import FORMATS
from .rules import RULES, get_rule
from .targets import TargetError

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_NOTHING_SCANNED = 0, 1, 2, 3
SEVERITY_CHOICES = [s.value for s in Severity] + ["none"]
SELECTABLE = sorted(GROUPS | {f.name for f in FAMILIES})


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"keywire: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            _fail_usage("--header takes 'Name: value' (the value is never printed)")
        headers[name] = content.strip()
    return headers


def _parse_header_env(values: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--header-env NAME=VAR``: the header's value is read from environment variable VAR."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, variable = value.partition("=")
        name, variable = name.strip(), variable.strip()
        if not sep or not name or not variable or any(c.isspace() for c in name):
            _fail_usage("--header-env takes NAME=VARIABLE, e.g. --header-env X-API-Key=API_KEY")
        content = environ.get(variable)
        if content is None or not content.strip():
            _fail_usage(
                f"--header-env {name}={variable}: the environment variable {variable} is not set"
            )
        headers[name] = content.strip()
    return headers


def _spec_labels(report: ScanReport) -> dict[str, str]:
    """Console labels for a spec-driven scan: the operation each endpoint comes from."""
    labels: dict[str, str] = {}
    for target in report.targets:
        detail = target.details.get("openapi")
        if isinstance(detail, Mapping) and isinstance(detail.get("operation"), str):
            labels[target.target] = f"{detail['operation']} (from the spec)"
        elif isinstance(detail, Mapping) and "endpoints" in detail:
            probed = len(detail["endpoints"])
            labels[target.target] = (
                f"API description: {probed} endpoint(s) probed, "
                f"{detail.get('skipped_total', 0)} operation(s) skipped"
            )
    return labels


def _check_ca_file(path: str | None) -> None:
    if path is None:
        return
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _fail_usage(f"cannot use CA file {path!r}: {reason}")


class _Progress:
    """A transient rich progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(f"scanning {total} target(s)", total=total)

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def target_started(self, target: str) -> None:
        self._progress.update(self._task, description=f"scanning {target}")

    def target_finished(self, result: TargetResult) -> None:
        self._progress.advance(self._task)


def _render(report: ScanReport, fmt: str, *, to_terminal: bool, labels: Mapping[str, str]) -> str:
    if fmt == "json":
        from .reporters import json as json_reporter

        return json_reporter.render(report)
    from .reporters import console

    if to_terminal and "NO_COLOR" not in os.environ:
        return console.render_rich(report, labels=labels)
    return console.render_plain(report, labels=labels)


def _gate(report: ScanReport, fail_on: str, fail_under: int | None) -> tuple[int, str]:
    if not report.scanned_any:
        return EXIT_NOTHING_SCANNED, "nothing could be scanned"
    reasons = []
    if fail_on != "none":
        threshold = Severity(fail_on)
        worst = report.worst_severity()
        if worst is not None and worst >= threshold:
            count = sum(1 for f in report.findings if f.severity >= threshold)
            reasons.append(f"{count} finding(s) at or above {threshold.value}")
    if fail_under is not None and report.score is not None and report.score.score < fail_under:
        reasons.append(f"score {report.score.score} is under {fail_under}")
    if reasons:
        return EXIT_GATE, "gate failed: " + "; ".join(reasons)
    return EXIT_OK, "gate passed"


def _emit(
    report: ScanReport,
    *,
    fmt: str,
    output: str | None,
    fail_on: str,
    fail_under: int | None,
    labels: Mapping[str, str] | None = None,
) -> NoReturn:
    to_terminal = output is None and sys.stdout.isatty()
    text = _render(report, fmt, to_terminal=to_terminal, labels=labels or {})
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            _fail_usage(f"cannot write {output!r}: {exc.strerror or exc}")
        click.echo(f"keywire: report written to {output}", err=True)
    for target in report.targets:
        if not target.scanned:
            click.echo(f"keywire: {target.target}: not scanned: {target.error}", err=True)
    code, message = _gate(report, fail_on, fail_under)
    click.echo(f"keywire: {message}", err=True)
    sys.exit(code)


def _common_options(function: Any) -> Any:
    decorators = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="console",
            show_default=True,
            help="Report format written to stdout (or --output).",
        ),
        click.option(
            "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE."
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITY_CHOICES),
            default="high",
            show_default=True,
            help="Exit 1 if any finding is at least this severe ('none' disables).",
        ),
        click.option(
            "--fail-under",
            type=click.IntRange(0, 100),
            help="Exit 1 if the overall score is below this.",
        ),
        click.option(
            "--only",
            multiple=True,
            type=click.Choice(SELECTABLE),
            help="Run only these checks or groups.",
        ),
        click.option(
            "--skip",
            multiple=True,
            type=click.Choice(SELECTABLE),
            help="Skip these checks or groups.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 600),
            default=10.0,
            show_default=True,
            help="Seconds per request.",
        ),
        click.option(
            "--scan-timeout",
            type=click.FloatRange(1, 86400),
            default=300.0,
            show_default=True,
            help="Seconds for the whole scan.",
        ),
        click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keywire")
def main() -> None:
    """keywire: can someone on the wire steal your API's keys?"""


@main.command("scan")
@click.argument("targets", nargs=-1, required=False)
@_common_options
@click.option(
    "--ca-file", type=click.Path(dir_okay=False), help="Extra trusted CA certificates (PEM)."
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help="'Name: value' credential header, sent only over verified HTTPS to the target host.",
)
@click.option(
    "--header-env",
    "header_envs",
    multiple=True,
    metavar="NAME=VAR",
    help="Like --header, with the value read from environment variable VAR (not shell history).",
)
@click.option(
    "--spec",
    metavar="FILE|URL",
    help="OpenAPI 3.x or Swagger 2.0 description (JSON or YAML) whose GET/HEAD endpoints to scan; "
    "TARGETS, if given, replace its servers.",
)
@click.option(
    "--max-endpoints",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="At most this many endpoints of --spec are probed.",
)
@click.option(
    "--http-port",
    type=click.IntRange(1, 65535),
    help="Port of the cleartext side of https:// targets.",
)
@click.option(
    "--https-port", type=click.IntRange(1, 65535), help="Port of the HTTPS side of http:// targets."
)
@click.option(
    "--per-host",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Concurrent connections per host.",
)
def scan_command(
    targets: tuple[str, ...],
    fmt: str,
    output: str | None,
    fail_on: str,
    fail_under: int | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    timeout: float,
    scan_timeout: float,
    verbose: int,
    ca_file: str | None,
    headers: tuple[str, ...],
    header_envs: tuple[str, ...],
    spec: str | None,
    max_endpoints: int,
    http_port: int | None,
    https_port: int | None,
    per_host: int,
) -> None:
    """Scan TARGETS (http:// or https:// URLs) and report what an observer on the wire could take.

    With --spec, the API description's endpoints are scanned too.
    """
    _logging(verbose)
    _check_ca_file(ca_file)
    if not targets and spec is None:
        _fail_usage("give at least one TARGET URL, or --spec FILE|URL")
    credentials = _parse_headers(headers)
    credentials.update(_parse_header_env(header_envs, os.environ))
    try:
        options = ScanOptions(
            timeout=timeout,
            scan_timeout=scan_timeout,
            ca_file=ca_file,
            headers=credentials,
            spec=spec,
            max_endpoints=max_endpoints,
            http_port=http_port,
            https_port=https_port,
            only=only,
            skip=skip,
            per_host=per_host,
        )
    except ValueError as exc:
        _fail_usage(str(exc))
    from .spec.loader import SpecError

    try:
        if sys.stderr.isatty():
            total = max_endpoints if spec is not None else len(targets)
            with _Progress(total) as progress:
                report = scan(list(targets), options=options, observer=progress)
        else:
            report = scan(list(targets), options=options)
    except TargetError as exc:
        _fail_usage(str(exc))
    except SpecError as exc:
        _fail_usage(f"cannot use the API description: {exc}")
    labels = _spec_labels(report) if spec is not None else None
    _emit(report, fmt=fmt, output=output, fail_on=fail_on, fail_under=fail_under, labels=labels)


@main.command("demo")
@_common_options
def demo_command(
    fmt: str,
    output: str | None,
    fail_on: str,
    fail_under: int | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    timeout: float,
    scan_timeout: float,
    verbose: int,
) -> None:
    """Scan the seed's vulnerable API in a local lab on 127.0.0.1 (no other network needed)."""
    from .demo import DemoUnavailable, run_demo

    _logging(verbose)
    click.echo("keywire: starting the demo lab on 127.0.0.1 …", err=True)
    try:
        report, labels = run_demo(
            ScanOptions(timeout=timeout, scan_timeout=scan_timeout, only=only, skip=skip)
        )
    except DemoUnavailable as exc:
        _fail_usage(str(exc))
    _emit(report, fmt=fmt, output=output, fail_on=fail_on, fail_under=fail_under, labels=labels)


@main.command("rules")
@click.argument("rule_id", required=False)
def rules_command(rule_id: str | None) -> None:
    """List the rule catalogue, or show one rule with its remediation."""
    if rule_id is None:
        width = max(len(r.title) for r in RULES.values())
        for rule in RULES.values():
            cwe = ",".join(f"CWE-{n}" for n in rule.cwe)
            click.echo(
                f"{rule.id}  {rule.severity.value:<8}  {rule.category.value:<16}  "
                f"{rule.title:<{width}}  {cwe}"
            )
        return
    try:
        rule = get_rule(rule_id)
    except KeyError:
        _fail_usage(f"unknown rule {rule_id!r}; `keywire rules` lists them")
    click.echo(f"{rule.id}: {rule.title}")
    click.echo(f"severity: {rule.severity.value}    category: {rule.category.title}")
    click.echo(
        f"CWE: {', '.join(f'CWE-{n}' for n in rule.cwe)}    OWASP API Top 10: {rule.owasp_api}"
    )
    if rule.grade_cap:
        click.echo(f"grade cap: {rule.grade_cap}")
    click.echo(f"\n{rule.description}\n\nFix: {rule.remediation}")
    if rule.flask_fix:
        click.echo(
            "\nIn Flask:\n"
            + "\n".join("    " + line for line in rule.flask_fix.rstrip().splitlines())
        )
    click.echo("\nReferences:\n" + "\n".join(f"  {ref}" for ref in rule.references))
    click.echo(f"\nDocs: {rule.doc_path}")


def _logging(verbose: int) -> None:
    if verbose:
        logging.basicConfig(
            stream=sys.stderr,
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="keywire: %(levelname)s %(name)s: %(message)s",
        )
