"""``keywire lint-spec``: what API descriptions declare about credential safety, offline.

The pre-commit hook (``.pre-commit-hooks.yaml``) runs it on the spec files a commit changes. It
reads files only (no network), applies the configuration's policy, and exits like ``keywire
scan``'s gate: 0 pass, 1 a finding at or above ``--fail-on`` (default medium), 2 a file that
cannot be read or is not an API description.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .._display import visible
from .._models import ScanReport, TargetResult
from ._exit import EXIT_USAGE
from ._messages import info, set_quiet
from ._options import load_settings, table_options
from ._report import _gate_exit, deliver


def render_lines(report: ScanReport) -> str:
    """One line per finding, ``FILE#POINTER: RULE severity: message``, as linters print."""
    lines = []
    for target in report.targets:
        for finding in target.findings:
            if finding.suppression is not None:
                continue
            where = dict(finding.evidence).get("spec") or target.target
            lines.append(
                visible(f"{where}: {finding.rule_id} {finding.severity.value}: {finding.message}")
            )
    return "\n".join(lines) + ("\n" if lines else "")


def _summary(target: TargetResult) -> str:
    active = [f for f in target.findings if f.suppression is None]
    if not active:
        return f"{target.target}: no finding"
    return f"{target.target}: {len(active)} finding(s)"


@click.command(
    "lint-spec", short_help="Check OpenAPI/Swagger files offline (KW901-KW907); pre-commit."
)
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@table_options("lint-spec")
@click.pass_context
def lint_spec_command(ctx: click.Context, /, specs: tuple[str, ...], **params: Any) -> None:
    """Check the API descriptions SPECS (OpenAPI 3.x or Swagger 2.0 files, JSON or YAML) for
    what they declare about credentials: http:// servers, API keys in query strings or cookies,
    HTTP Basic, OAuth URLs over http://, unused schemes, operations without security.

    No network: $ref may name files beside the spec, never URLs. Exit codes: 0 nothing at or
    above --fail-on, 1 a finding at or above it, 2 a file that cannot be used.
    """
    from ..finish import finish_report
    from ..openapi.lint import lint_report

    set_quiet(params["quiet"])
    settings = load_settings(ctx, params)
    report = finish_report(
        lint_report(list(specs)),
        policy=settings.config.policy if settings.config is not None else None,
        gate=settings.gate,
    )
    for output in settings.outputs:
        if output.fmt == "console":
            text = render_lines(report)
        else:
            from ..reporters import render

            text = render(report, output.fmt)
        deliver(output, text)
    broken = [t for t in report.targets if not t.scanned]
    for target in report.targets:
        if target.scanned:
            info(f"keywire: {visible(_summary(target))}")
    for target in broken:
        error = target.error
        if not error.startswith(target.target):  # a SpecError names its document already
            error = f"{target.target}: {error}"
        click.echo(f"keywire: error: {visible(error)}", err=True)
    if broken:
        sys.exit(EXIT_USAGE)
    code, message = _gate_exit(report)
    if code:
        click.echo(f"keywire: {message}", err=True)
    else:
        info(f"keywire: {message}")
    sys.exit(code)
