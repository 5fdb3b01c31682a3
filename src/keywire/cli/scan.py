"""``keywire scan``: scan URLs (or an API description's endpoints) and report."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from .._display import visible
from .._models import ScanReport, TargetResult
from .._scanner import ScanOptions, scan
from ..targets import TargetError
from ._exit import (
    EXIT_CODES_HELP,
    fail_usage,
)
from ._headers import parse_header_env, parse_headers, protect_credentials
from ._options import (
    check_ca_file,
    common_options,
    configure_logging,
    load_settings,
)
from ._report import Label, emit

_SKIPPED_SHOWN = 20


def _spec_labels(report: ScanReport) -> dict[str, Label]:
    """Console labels for a spec-driven scan: the operation each endpoint comes from, and which
    operations were skipped and why."""
    labels: dict[str, Label] = {}
    for target in report.targets:
        detail = target.details.get("openapi")
        if isinstance(detail, Mapping) and isinstance(detail.get("operation"), str):
            labels[target.target] = f"{detail['operation']} (from the spec)"
        elif isinstance(detail, Mapping) and "endpoints" in detail:
            probed = len(detail["endpoints"])
            total = detail.get("skipped_total", 0)
            lines = [
                f"API description: {probed} endpoint(s) probed, {total} operation(s) skipped"
                + (":" if total else "")
            ]
            listed = [s for s in detail.get("skipped", ()) if isinstance(s, Mapping)]
            for item in listed[:_SKIPPED_SHOWN]:
                lines.append(f"  skipped {item.get('operation')}: {item.get('reason')}")
            if total > min(len(listed), _SKIPPED_SHOWN):
                shown = min(len(listed), _SKIPPED_SHOWN)
                lines.append(f"  … and {total - shown} more (the JSON report lists them)")
            labels[target.target] = tuple(lines)
    return labels


class _Progress:
    """A transient rich progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
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
        self._progress.update(self._task, description=f"scanning {visible(target)}")

    def target_finished(self, result: TargetResult) -> None:
        self._progress.advance(self._task)


@click.command("scan", epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1, required=False)
@common_options
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
@click.pass_context
def scan_command(
    ctx: click.Context,
    /,
    targets: tuple[str, ...],
    headers: tuple[str, ...],
    header_envs: tuple[str, ...],
    spec: str | None,
    max_endpoints: int,
    **params: Any,
) -> None:
    """Scan TARGETS (http:// or https:// URLs) and report what an observer on the wire could take.

    With --spec, the API description's endpoints are scanned too.
    """
    settings = load_settings(ctx, params)
    values = settings.values
    configure_logging(values["verbose"])
    check_ca_file(values["ca_file"])
    if not targets and spec is None:
        fail_usage("give at least one TARGET URL, or --spec FILE|URL")
    credentials = parse_headers(headers)
    credentials.update(parse_header_env(header_envs, os.environ))
    protect_credentials(credentials)
    try:
        options = ScanOptions(
            timeout=values["timeout"],
            scan_timeout=values["scan_timeout"],
            ca_file=values["ca_file"],
            headers=credentials,
            spec=spec,
            max_endpoints=max_endpoints,
            http_port=values["http_port"],
            https_port=values["https_port"],
            only=values["only"],
            skip=values["skip"],
            per_host=values["per_host"],
        )
    except ValueError as exc:
        fail_usage(str(exc))
    from ..openapi.loader import SpecError

    try:
        if sys.stderr.isatty():
            total = max_endpoints if spec is not None else len(targets)
            with _Progress(total) as progress:
                report = scan(list(targets), options=options, observer=progress)
        else:
            report = scan(list(targets), options=options)
    except TargetError as exc:
        fail_usage(str(exc))
    except SpecError as exc:
        fail_usage(f"cannot use the API description: {exc}")
    labels = _spec_labels(report) if spec is not None else None
    emit(report, settings=settings, labels=labels)
