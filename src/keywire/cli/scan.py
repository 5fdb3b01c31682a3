"""``keywire scan``: scan URLs (or an API description's endpoints) and report.

Options come from the command line, else from the configuration file, else from the table's
defaults (:mod:`keywire.options`); the scan, policy, baseline and gate are the library's
(:func:`keywire.fleet.run_fleet`: the one runner, :class:`keywire.finish.Finisher`); the reports
are assembled from the run's stream (:mod:`keywire.cli._fleet`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import click

from .._models import ScanReport
from ..scanoptions import scan_options
from ..targets import TargetError
from ._exit import (
    EXIT_CODES_HELP,
    fail_usage,
)
from ._headers import parse_header_env, parse_headers, protect_credentials
from ._messages import set_quiet
from ._options import check_ca_file, configure_logging, load_settings, table_options
from ._report import Label
from ._store import store_for_scan

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


@click.command(
    "scan",
    epilog=EXIT_CODES_HELP,
    short_help="Scan API URLs (or an OpenAPI spec's endpoints) and grade them.",
)
@click.argument("targets", nargs=-1, required=False)
@table_options("scan")
@click.pass_context
def scan_command(ctx: click.Context, /, targets: tuple[str, ...], **params: Any) -> None:
    """Scan TARGETS (http:// or https:// URLs) and report what an observer on the wire could take.

    With -i FILE, the URLs in FILE too (a fleet: streamed with --format jsonl, resumable with
    --resume, on every core). With --spec, the API description's endpoints are scanned too.
    """
    from ._fleet import gather_targets, run_scan  # the run's machinery loads with a scan only

    set_quiet(params["quiet"], params["verbose"])
    settings = load_settings(ctx, params)
    values = settings.values
    configure_logging(values["verbose"])
    check_ca_file(values["ca_file"])
    spec = values["spec"]
    if spec is not None:
        urls = list(targets)  # base URLs replacing the spec's servers: the spec planner's
    else:
        urls = gather_targets(targets, values["inputs"], settings, quiet=bool(values["quiet"]))
    if not urls and spec is None:
        if values["inputs"]:
            fail_usage("the targets file(s) hold no target URL")
        fail_usage("give at least one TARGET URL, -i FILE, or --spec FILE|URL")
    credentials = parse_headers(values["headers"])
    credentials.update(parse_header_env(values["header_envs"], os.environ))
    protect_credentials(credentials)
    try:
        options = scan_options(values, headers=credentials)
    except ValueError as exc:
        fail_usage(str(exc))
    spec_errors: tuple[type[Exception], ...] = ()
    if spec is not None:  # only a spec scan can raise one: without it, no OpenAPI loader
        from ..openapi.loader import SpecError

        spec_errors = (SpecError,)
    history = store_for_scan(values["store"], values["no_store"])  # refused before any traffic
    try:
        run_scan(
            urls,
            options,
            settings,
            labels=_spec_labels if spec is not None else None,
            history=history,
        )
    except TargetError as exc:
        fail_usage(str(exc))
    except spec_errors as exc:
        fail_usage(f"cannot use the API description: {exc}")
