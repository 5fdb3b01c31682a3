"""``keywire history``, ``keywire diff``, ``keywire report`` and ``keywire watch``: the commands
that read and keep the history store, and the store options ``keywire scan`` shares.

Thin: options are parsed here; the work is :mod:`keywire.store`, :mod:`keywire.history` and
:mod:`keywire.watch`. A store that cannot be used (missing for a reader, corrupt, newer, not a
keywire store) is a usage error: one line on stderr, exit 2, the file untouched.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ._display import visible
from ._models import ScanReport, Severity

if TYPE_CHECKING:
    from .store import Store

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> NoReturn:
    click.echo(f"keywire: error: {visible(message)}", err=True)
    sys.exit(EXIT_USAGE)


def say(message: str) -> None:
    click.echo(f"keywire: {visible(message)}", err=True)


# -- the store options ------------------------------------------------------------------------

STORE_HELP = (
    "The history store (SQLite). Default: $KEYWIRE_STORE, else "
    "$XDG_DATA_HOME/keywire/keywire.db (~/.local/share/keywire/keywire.db)."
)


def store_option(function: Any) -> Any:
    return click.option(
        "--store",
        "store",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help=STORE_HELP,
    )(function)


def store_path(value: str | None) -> Path:
    from .store import default_path

    return Path(value).expanduser() if value else default_path()


def open_store(value: str | None, *, create: bool, check: bool = False) -> Store:
    """The store, or exit 2 with why it cannot be used."""
    from .store import Store, StoreError

    try:
        return Store.open(store_path(value), create=create, check=check)
    except StoreError as exc:
        fail(str(exc))


def store_for_scan(value: str | None, no_store: bool) -> Store | None:
    """The store ``keywire scan`` records into, opened before any traffic (a bad store is known
    before the scan, not after). The default location that cannot be created is a warning, not
    an error: the scan goes on without recording."""
    from .store import Store, StoreError

    if no_store:
        if value:
            fail("--store and --no-store exclude each other")
        return None
    path = store_path(value)
    try:
        return Store.open(path, create=True, check=True)
    except StoreError as exc:
        unusable_location = not path.exists()
        if value or not unusable_location:
            fail(f"{exc} (--no-store scans without recording)")
        say(f"warning: the scan is not recorded: {exc}")
        return None


def record_scan(
    store: Store, report: ScanReport, *, policy: Any = None, verbose: bool = False
) -> ScanReport:
    """Add the time rules' findings to ``report`` (each target against its previous result in the
    store), record it, and return the report as recorded."""
    from .history.record import annotate_report
    from .store import StoreError, record_report

    try:
        with store.transaction() as tx:
            previous = {t.target: tx.latest(t.target) for t in report.targets}
        report = annotate_report(
            report, previous.get, scanned_at=datetime.now(timezone.utc), policy=policy
        )
        scan_id, _ = record_report(store, report)
    except StoreError as exc:
        fail(f"{exc}; the report was not written")
    if verbose:  # stderr stays as it was for scripts that read it; -v tells where the scan went
        say(f"scan {scan_id} recorded in {store.path}")
    return report


# -- output -----------------------------------------------------------------------------------


def write(text: str, output: str | None, what: str) -> None:
    from .outputs import write_atomically

    if output in (None, "-"):
        click.echo(text, nl=False)
        return
    assert output is not None
    try:
        write_atomically(output, text)
    except OSError as exc:
        fail(f"cannot write {output!r}: {exc.strerror or exc}")
    say(f"{what} written to {output}")


_OUTPUT = click.option(
    "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)


def _normalised(url: str) -> str:
    from .targets import TargetError, parse_target

    try:
        return parse_target(url).url
    except TargetError as exc:
        fail(str(exc))


# -- keywire history --------------------------------------------------------------------------


@click.command("history")
@click.argument("target", required=False)
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json", "markdown"]),
    default="console",
    show_default=True,
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Results shown per target, newest first.",
)
@_OUTPUT
def history_command(
    target: str | None, store: str | None, fmt: str, limit: int, output: str | None
) -> None:
    """Grade and score over time: every API in the store, or TARGET scan by scan."""
    from .history.render import TargetHistory, render_history

    with open_store(store, create=False) as opened, opened.transaction() as tx:
        rows = {row.url: row for row in tx.targets()}
        if target is not None:
            url = _normalised(target)
            if url not in rows:
                fail(f"the store has no result for {url}; `keywire history` lists its targets")
            urls = [url]
        else:
            urls = list(rows)
        histories = [
            TargetHistory(
                target=u, results=tuple(tx.history(u, limit=limit)), total=rows[u].results
            )
            for u in urls
        ]
    write(render_history(histories, fmt, detailed=target is not None), output, "history")


# -- keywire diff -----------------------------------------------------------------------------


@click.command("diff")
@click.argument("scans", nargs=-1, type=int, metavar="[SCAN] [SCAN]")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json", "markdown"]),
    default="console",
    show_default=True,
    help="markdown is for a pull-request comment.",
)
@click.option("--target", "targets", multiple=True, metavar="URL", help="Only these targets.")
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity] + ["none"]),
    default="none",
    show_default=True,
    help="Exit 1 if a new finding is at least this severe.",
)
@_OUTPUT
def diff_command(
    scans: tuple[int, ...],
    store: str | None,
    fmt: str,
    targets: tuple[str, ...],
    fail_on: str,
    output: str | None,
) -> None:
    """New, fixed, unchanged and not re-tested findings between two scans.

    No SCAN: the last two scans of each target. One SCAN: each of its targets against that
    target's scan before. Two SCANs: the targets both scanned. `keywire history` shows the scan
    numbers.
    """
    from .history.diff import DiffError, select
    from .history.render import render_diff

    if len(scans) > 2:
        fail("diff compares at most two scans")
    wanted = [_normalised(t) for t in targets]
    with open_store(store, create=False) as opened, opened.transaction() as tx:
        try:
            diff = select(tx, scans, targets=wanted, evidence=fmt == "json")
        except DiffError as exc:
            fail(str(exc))
    write(render_diff(diff, fmt), output, "diff")
    if fail_on != "none":
        regressions = diff.new_at_or_above(Severity(fail_on))
        if regressions:
            say(f"{len(regressions)} new finding(s) at or above {fail_on}")
            sys.exit(EXIT_FOUND)


# -- keywire report ---------------------------------------------------------------------------


@click.command("report")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
)
@_OUTPUT
def report_command(store: str | None, fmt: str, output: str | None) -> None:
    """The fleet overview from the store: every API's grade and trend, the certificates expiring
    soonest, the newest regressions (a self-contained HTML page)."""
    from .history.fleet import build_fleet, render_fleet

    with open_store(store, create=False) as opened, opened.transaction() as tx:
        fleet = build_fleet(tx, now=datetime.now(timezone.utc))
    write(render_fleet(fleet, fmt), output, f"{fmt} fleet overview")


# -- keywire watch ----------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``6h``, ``1d`` → seconds (at least 1 s, at most 30 days).

    >>> parse_every("6h"), parse_every("90s"), parse_every("1.5m")
    (21600.0, 90.0, 90.0)
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"--every takes a duration like 90s, 30m, 6h or 1d, not {text!r}")
    seconds = float(match[1]) * _UNITS[match[2].lower()]
    if not 1 <= seconds <= 30 * 86400:
        raise ValueError("--every must be between 1 second and 30 days")
    return seconds


def parse_days(text: str) -> tuple[int, ...]:
    """``30,14,7`` → (30, 14, 7).

    >>> parse_days("7, 30,14")
    (30, 14, 7)
    """
    try:
        days = tuple(sorted({int(part) for part in text.split(",") if part.strip()}, reverse=True))
    except ValueError:
        raise ValueError(
            f"--expiry-days takes days separated by commas, like 30,14,7, not {text!r}"
        ) from None
    if not days or any(d < 0 or d > 3650 for d in days):
        raise ValueError("--expiry-days takes days from 0 to 3650, like 30,14,7")
    return days


def _targets(args: Sequence[str], files: Sequence[str]) -> list[str]:
    from .targetsfile import TargetsFileError, read_targets

    urls: dict[str, None] = {}
    for arg in args:
        urls.setdefault(_normalised(arg), None)
    for path in files:
        try:
            parsed = read_targets(path)
        except TargetsFileError as exc:
            fail(str(exc))
        for problem in parsed.problems():
            say(problem)
        for url in parsed.targets:
            urls.setdefault(url, None)
    return list(urls)


def _webhook(
    url: str | None, secret_env: str | None, fmt: str, timeout: float, environ: Mapping[str, str]
) -> Any:
    from .watch.webhooks import MIN_SECRET_BYTES, Webhook, WebhookError, parse_secret

    if url is None:
        if secret_env:
            fail("--webhook-secret-env needs --webhook")
        return None
    secret = None
    if secret_env:
        value = environ.get(secret_env)
        if not value or not value.strip():
            fail(
                f"--webhook-secret-env {secret_env}: the environment variable {secret_env} is not set"
            )
        try:
            secret = parse_secret(value)
        except WebhookError as exc:
            fail(f"--webhook-secret-env {secret_env}: {exc}")
        if len(secret) < MIN_SECRET_BYTES:
            say(
                f"warning: the webhook secret is {len(secret)} bytes; the Standard Webhooks "
                f"specification asks for at least {MIN_SECRET_BYTES} random bytes"
            )
    try:
        webhook = Webhook(url=url, secret=secret, fmt=fmt, timeout=timeout)
    except WebhookError as exc:
        fail(str(exc))
    if webhook.cleartext_remote:
        say(
            "warning: --webhook is http:// to another machine: alerts cross the network in cleartext"
        )
    return webhook


@click.command("watch")
@click.argument("targets", nargs=-1, required=False)
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    metavar="FILE",
    help="A targets file: one URL per line, # comments ('-' reads stdin).",
)
@click.option(
    "--every", default="6h", show_default=True, help="Time between cycles: 90s, 30m, 6h, 1d."
)
@store_option
@click.option("--webhook", metavar="URL", help="Send each alert to URL (Standard Webhooks).")
@click.option(
    "--webhook-secret-env",
    metavar="VAR",
    help="The environment variable holding the signing secret (whsec_...).",
)
@click.option(
    "--webhook-format",
    type=click.Choice(["standard", "slack"]),
    default="standard",
    show_default=True,
    help="slack: a Slack incoming-webhook message.",
)
@click.option(
    "--webhook-timeout",
    type=click.FloatRange(1, 120),
    default=15.0,
    show_default=True,
    help="Seconds a receiver has to answer.",
)
@click.option(
    "--alert-on",
    type=click.Choice([s.value for s in Severity]),
    default="medium",
    show_default=True,
    help="New findings at least this severe raise an alert.",
)
@click.option(
    "--expiry-days",
    default="30,14,7",
    show_default=True,
    help="Certificate expiry thresholds, in days; each raises one alert.",
)
@click.option("--once", is_flag=True, help="Run one cycle (or finish an interrupted one) and exit.")
@click.option(
    "--batch",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Targets scanned at once (SIGTERM waits for them).",
)
@click.option(
    "--ca-file", type=click.Path(dir_okay=False), help="Extra trusted CA certificates (PEM)."
)
@click.option(
    "--header", "-H", "headers", multiple=True, help="'Name: value' credential header (HTTPS only)."
)
@click.option(
    "--header-env",
    "header_envs",
    multiple=True,
    metavar="NAME=VAR",
    help="Like --header, the value from VAR.",
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
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds per request.",
)
@click.option(
    "--scan-timeout",
    type=click.FloatRange(1, 86400),
    default=300.0,
    show_default=True,
    help="Seconds for each batch of targets.",
)
@click.option(
    "--offline",
    is_flag=True,
    help="Send nothing beyond the scanned hosts (no OCSP or CRL fetches).",
)
@click.option("--only", multiple=True, help="Run only these checks or groups.")
@click.option("--skip", multiple=True, help="Skip these checks or groups.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Configuration file (its policy: suppressions, severities).",
)
@click.option("--no-config", is_flag=True, help="Do not read any configuration file.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug).")
def watch_command(
    targets: tuple[str, ...],
    inputs: tuple[str, ...],
    every: str,
    store: str | None,
    webhook: str | None,
    webhook_secret_env: str | None,
    webhook_format: str,
    webhook_timeout: float,
    alert_on: str,
    expiry_days: str,
    once: bool,
    batch: int,
    headers: tuple[str, ...],
    header_envs: tuple[str, ...],
    verbose: int,
    config: str | None,
    no_config: bool,
    **scan_values: Any,
) -> None:
    """Rescan TARGETS (and -i FILE) on a schedule and alert on regressions.

    Alerts: new findings at or above --alert-on, a grade drop, a certificate crossing an expiry
    threshold, a target that stopped answering; each once, with a recovery notice. They are
    kept in the store until a --webhook receiver took them. SIGTERM ends the watch after the
    targets in flight; a restart resumes where it stopped.
    """
    from . import cli
    from ._scanner import ScanOptions
    from .watch.alerts import AlertPolicy
    from .watch.loop import Watch, WatchSettings

    cli._logging(verbose)
    try:
        interval = parse_every(every)
        days = parse_days(expiry_days)
    except ValueError as exc:
        fail(str(exc))
    urls = _targets(targets, inputs)
    if not urls:
        fail("give at least one TARGET URL, or -i FILE")
    hook = _webhook(webhook, webhook_secret_env, webhook_format, webhook_timeout, os.environ)
    cli._check_ca_file(scan_values["ca_file"])
    credentials = cli._parse_headers(headers)
    credentials.update(cli._parse_header_env(header_envs, os.environ))
    cli._protect(credentials)
    policy = _policy(config, no_config)
    try:
        options = ScanOptions(headers=credentials, **scan_values)
    except ValueError as exc:
        fail(str(exc))
    settings = WatchSettings(
        targets=tuple(urls),
        every=interval,
        options=options,
        alerts=AlertPolicy(min_severity=Severity(alert_on), expiry_days=days),
        webhook=hook,
        policy=policy,
        once=once,
        batch=batch,
    )
    path = store_path(store)
    open_store(store, create=True, check=True).close()  # a bad store is refused before any scan
    watch = Watch(path, settings, say=say)
    run_watch(watch)


def _policy(config: str | None, no_config: bool) -> Any:
    from .config import ConfigError, discover, load_config

    if config and no_config:
        fail("--config and --no-config exclude each other")
    if no_config:
        return None
    try:
        path = Path(config) if config else discover(Path.cwd())
        if path is None:
            return None
        loaded = load_config(path)
    except ConfigError as exc:
        fail(str(exc))
    say(f"using configuration {path}")
    return loaded.policy


def run_watch(watch: Any, *, install: Callable[..., Any] = signal.signal) -> NoReturn:
    """Run the watch with SIGTERM (and SIGHUP) asking it to stop; exit 0 when it stopped cleanly."""
    from .store import StoreError

    def stop(signum: int, frame: object) -> None:
        if not watch.stopping:
            say(f"{signal.Signals(signum).name}: stopping after the targets in flight")
        watch.request_stop()

    install(signal.SIGTERM, stop)
    if hasattr(signal, "SIGHUP"):
        install(signal.SIGHUP, stop)
    try:
        summary = watch.run()
    except StoreError as exc:
        fail(str(exc))
    pending = f", {summary.pending} alert(s) wait in the store" if summary.pending else ""
    say(
        f"watch stopped: {summary.cycles} cycle(s), {summary.scanned} target scan(s), "
        f"{summary.alerts} alert(s), {summary.delivered} delivered{pending}"
    )
    sys.exit(EXIT_OK)


COMMANDS = (history_command, diff_command, report_command, watch_command)
