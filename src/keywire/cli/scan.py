"""``keywire scan``: scan URLs (or an API description's endpoints) and report.

Options come from the command line, else from the configuration file, else from the table's
defaults (:mod:`keywire.options`); the scan, policy, baseline and gate are the library's
(:func:`keywire.scan`, :func:`keywire.finish_report`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import click

from .._display import visible
from .._models import TargetResult
from ..outputs import Output
from ..scanoptions import scan_options
from ..targets import TargetError
from ._exit import (
    EXIT_CODES_HELP,
    fail_usage,
)
from ._headers import parse_header_env, parse_headers, protect_credentials
from ._labels import spec_labels
from ._messages import color_wanted, info, set_quiet
from ._options import check_ca_file, configure_logging, load_settings, table_options
from ._report import emit
from ._store import record_scan, store_for_scan


def _check_observations_file(path: str | None, outputs: Sequence[Output]) -> None:
    """Refuse, before any traffic, an observations file that could not be written."""
    if path is None:
        return
    from ..outputs import OutputError, check_output

    reports = {os.path.abspath(o.path) for o in outputs if o.path != "-"}
    if path == "-" or os.path.abspath(path) in reports:
        fail_usage(f"--save-observations {path!r}: a file of its own (not stdout, not a report)")
    try:
        check_output(Output("observations", path))
    except OutputError as exc:
        fail_usage(f"--save-observations: {exc}")


class _Progress:
    """A transient rich progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            console=Console(stderr=True, no_color=not color_wanted(True)),
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

    With --spec, the API description's endpoints are scanned too.
    """
    from .._scanner import scan  # the scanner loads when a scan runs, not with the command line

    set_quiet(params["quiet"], params["verbose"])
    settings = load_settings(ctx, params)
    values = settings.values
    configure_logging(values["verbose"])
    check_ca_file(values["ca_file"])
    spec = values["spec"]
    if not targets and spec is None:
        fail_usage("give at least one TARGET URL, or --spec FILE|URL")
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
    _check_observations_file(values["save_observations"], settings.outputs)
    try:
        with ExitStack() as stack:
            progress = None
            if sys.stderr.isatty() and not values["quiet"]:
                total = options.max_endpoints if spec is not None else len(targets)
                progress = stack.enter_context(_Progress(total))
            report = scan(
                list(targets),
                options=options,
                observer=progress,
                config=settings.config,
                baseline=settings.baseline,
                gate=settings.gate,
            )
    except TargetError as exc:
        fail_usage(str(exc))
    except spec_errors as exc:
        fail_usage(f"cannot use the API description: {exc}")
    except OSError as exc:  # only the observations file is written during the scan
        fail_usage(f"cannot write the observations: {exc.strerror or exc}")
    if options.save_observations is not None:
        info(f"keywire: observations written to {options.save_observations}")
    labels = spec_labels(report) if spec is not None else None
    if history is not None:
        policy = settings.config.policy if settings.config is not None else None
        with history:
            report = record_scan(history, report, policy=policy, verbose=bool(values["verbose"]))
    emit(report, settings=settings, labels=labels)
