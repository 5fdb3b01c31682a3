"""``keywire worker``: scan the targets of distributed scans (``keywire scan --broker``).

The work is the library's (:mod:`keywire.distributed.worker`); this module parses the options
and the worker's own credentials. See ``docs/distributed.md``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ._exit import fail_usage
from ._headers import parse_header_env, parse_headers, protect_credentials


@click.command(
    "worker", short_help="Scan the targets of distributed scans (Dramatiq on a Redis broker)."
)
@click.option(
    "--broker",
    metavar="URL",
    envvar="KEYWIRE_BROKER",
    required=True,
    help="The Redis broker: redis://HOST:PORT/DB, rediss://… for TLS (or $KEYWIRE_BROKER; the "
    "password may come from $KEYWIRE_BROKER_PASSWORD).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Worker processes (more than 1: this one supervises them and restarts any that dies).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 1024),
    default=8,
    show_default=True,
    help="Targets each process scans at once.",
)
@click.option(
    "--heartbeat-timeout",
    type=click.FloatRange(1, 3600),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="A worker silent this long is taken for dead and its messages are delivered again.",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    help="'Name: value' credential this worker sends when a scan asks for header Name.",
)
@click.option(
    "--header-env",
    "header_envs",
    multiple=True,
    metavar="NAME=VAR",
    help="Like --header, the value read from this worker's environment variable VAR.",
)
@click.option("-v", "--verbose", count=True, help="More log lines (-vv: debug).")
def worker_command(**values: Any) -> None:
    """Run keywire worker processes on a Redis broker until SIGTERM or Ctrl-C.

    Each takes one target of a `keywire scan --broker` at a time per thread, scans it and
    writes its record once. Credentials are the worker's own: a scan's messages carry header
    names, never values.
    """
    from ..distributed import MissingExtra, require
    from ..distributed._broker import check_url

    try:
        require()
        url = check_url(values["broker"])
    except (MissingExtra, ValueError) as exc:
        fail_usage(str(exc))
    credentials = parse_headers(values["headers"])
    credentials.update(parse_header_env(values["header_envs"], os.environ))
    protect_credentials(credentials)
    from ..distributed.worker import WorkerConfig, run
    from ._options import configure_logging

    configure_logging(values["verbose"])
    config = WorkerConfig(
        url=url,
        processes=values["processes"],
        threads=values["threads"],
        heartbeat_timeout_s=values["heartbeat_timeout"],
        credentials=credentials,
        verbose=values["verbose"],
    )
    from ..distributed import BrokerError

    try:
        code = run(config)
    except BrokerError as exc:
        fail_usage(str(exc))
    raise SystemExit(code)
