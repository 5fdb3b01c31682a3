"""``keywire scan``: scan URLs (or an API description's endpoints) and report.

Options come from the command line, else from the configuration file, else from the table's
defaults (:mod:`keywire.options`); the scan, policy, baseline and gate are the library's
(:func:`keywire.fleet.run_fleet`: the one runner, :class:`keywire.finish.Finisher`); the reports
are assembled from the run's stream (:mod:`keywire.cli._fleet`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click

from ..outputs import Output
from ..scanoptions import scan_options
from ..targets import TargetError
from ._exit import (
    EXIT_CODES_HELP,
    fail_usage,
)
from ._headers import parse_header_env, parse_headers, protect_credentials
from ._labels import spec_labels
from ._messages import set_quiet
from ._options import check_ca_file, configure_logging, load_settings, table_options
from ._store import store_for_scan


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
    if values.get("broker"):
        _check_broker(values["broker"], spec, values.get("save_observations"))
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
    broker_errors: tuple[type[Exception], ...] = ()
    if values.get("broker"):
        from ..distributed import BrokerError

        broker_errors = (BrokerError,)
    history = store_for_scan(values["store"], values["no_store"])  # refused before any traffic
    _check_observations_file(values["save_observations"], settings.outputs)
    observation_errors: tuple[type[Exception], ...] = ()
    if values["save_observations"] is not None:
        from ..observations.file import ObservationsError

        if values.get("resume"):
            fail_usage(
                "--save-observations cannot resume a scan: the observations of the targets "
                "scanned before were not kept"
            )
        observation_errors = (ObservationsError,)
    try:
        run_scan(
            urls,
            options,
            settings,
            labels=spec_labels if spec is not None else None,
            history=history,
        )
    except TargetError as exc:
        fail_usage(str(exc))
    except broker_errors as exc:
        fail_usage(f"{exc} (the stream keeps the records written so far, for --resume)")
    except spec_errors as exc:
        fail_usage(f"cannot use the API description: {exc}")
    except observation_errors as exc:
        fail_usage(str(exc))


def _check_broker(url: str, spec: str | None, save_observations: str | None) -> None:
    """``--broker``: refused before any traffic when it cannot work."""
    from ..distributed import BrokerError, MissingExtra, require
    from ..distributed._broker import check_reachable, check_url

    if spec is not None:
        fail_usage("--broker scans URLs (-i FILE, arguments); a --spec scan runs on this machine")
    if save_observations is not None:
        fail_usage(
            "--save-observations keeps the scan on this machine (the workers' records hold the "
            "findings, not what the probes observed): leave out --broker"
        )
    try:
        require()
        check_url(url)
        check_reachable(url)
    except (MissingExtra, ValueError, BrokerError) as exc:
        fail_usage(str(exc))
