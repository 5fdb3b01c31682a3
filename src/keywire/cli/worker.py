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
from ._options import table_options


@click.command("worker", short_help="Scan targets of distributed scans (keywire scan --broker).")
@table_options("worker")
def worker_command(**values: Any) -> None:
    """Run keywire worker processes on a Redis broker until SIGTERM or Ctrl-C.

    Each takes one target of a `keywire scan --broker` at a time per thread, scans it and
    writes its record once. Credentials are the worker's own: a scan's messages carry header
    names, never values.
    """
    from ..distributed import MissingExtra, require
    from ..distributed._broker import check_url

    broker = values["broker"] or os.environ.get("KEYWIRE_BROKER")
    if not broker:
        fail_usage("give the broker: --broker redis://HOST:PORT/DB (or $KEYWIRE_BROKER)")
    try:
        require()
        url = check_url(broker)
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
