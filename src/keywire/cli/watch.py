"""``keywire watch``: rescan on a schedule, alert on regressions (see :mod:`keywire.watch`).

Targets come from the command line and ``-i FILE`` (:mod:`keywire.targetsfile`); the scan
options are ``keywire scan``'s, from the same table rows; the configuration file contributes
its policy (suppressions, severity overrides, skipped rules) and the scan options it sets.
SIGTERM and SIGHUP ask the watch to stop after the targets in flight (exit 0).
"""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import click

from .._models import Severity
from ..scanoptions import scan_options
from ._exit import EXIT_OK, fail_usage
from ._headers import parse_header_env, parse_headers, protect_credentials
from ._options import check_ca_file, configure_logging, load_settings, table_options
from ._store import normalised, open_store, say, store_path

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``6h``, ``1d`` → seconds (at least 0.1 s, at most 30 days).

    >>> parse_every("6h"), parse_every("90s"), parse_every("1.5m")
    (21600.0, 90.0, 90.0)
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"--every takes a duration like 90s, 30m, 6h or 1d, not {text!r}")
    seconds = float(match[1]) * _UNITS[match[2].lower()]
    if not 0.1 <= seconds <= 30 * 86400:
        raise ValueError("--every must be between 0.1 second and 30 days")
    return seconds


def parse_days(text: str) -> tuple[int, ...]:
    """``30,14,7`` → (30, 14, 7), largest first.

    >>> parse_days("7, 30,14")
    (30, 14, 7)
    """
    try:
        days = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ValueError(
            f"--expiry-days takes days separated by commas, like 30,14,7, not {text!r}"
        ) from None
    if not days or any(d < 0 or d > 3650 for d in days):
        raise ValueError("--expiry-days takes days from 0 to 3650, like 30,14,7")
    return tuple(sorted(days, reverse=True))


def _targets(args: Sequence[str], files: Sequence[str]) -> list[str]:
    from ..targetsfile import TargetsFileError, read_targets

    urls: dict[str, None] = {}
    for arg in args:
        urls.setdefault(normalised(arg), None)
    for path in files:
        try:
            parsed = read_targets(path)
        except TargetsFileError as exc:
            fail_usage(str(exc))
        for problem in parsed.problems():
            click.echo(f"keywire: {problem}", err=True)  # already made visible
        for url in parsed.targets:
            urls.setdefault(url, None)
    return list(urls)


def _webhook(
    url: str | None, secret_env: str | None, fmt: str, timeout: float, environ: Mapping[str, str]
) -> Any:
    from ..watch.webhooks import MIN_SECRET_BYTES, Webhook, WebhookError, parse_secret

    if url is None:
        if secret_env:
            fail_usage("--webhook-secret-env needs --webhook")
        return None
    secret = None
    if secret_env:
        value = environ.get(secret_env)
        if not value or not value.strip():
            fail_usage(
                f"--webhook-secret-env {secret_env}: the environment variable {secret_env} is "
                "not set"
            )
        try:
            secret = parse_secret(value)
        except WebhookError as exc:
            fail_usage(f"--webhook-secret-env {secret_env}: {exc}")
        if len(secret) < MIN_SECRET_BYTES:
            say(
                f"warning: the webhook secret is {len(secret)} bytes; the Standard Webhooks "
                f"specification asks for at least {MIN_SECRET_BYTES} random bytes"
            )
    try:
        webhook = Webhook(url=url, secret=secret, fmt=fmt, timeout=timeout)
    except WebhookError as exc:
        fail_usage(str(exc))
    _keep_out_of_logs(url, environ.get(secret_env or "") if secret_env else None)
    if webhook.cleartext_remote:
        say(
            "warning: --webhook is http:// to another machine: alerts cross the network in cleartext"
        )
    return webhook


def _keep_out_of_logs(url: str, secret: str | None) -> None:
    """The secret, and the webhook URL's path and query (Slack's and others' hold a token),
    are scrubbed from every ``-v`` log line (httpx logs each request's URL)."""
    from urllib.parse import urlsplit

    from .._logsafe import protect

    parts = urlsplit(url)
    hidden = [parts.path + (f"?{parts.query}" if parts.query else "")]
    if secret:
        hidden += [secret.strip(), secret.strip().removeprefix("whsec_")]
    protect(h for h in hidden if len(h) > 1)


@click.command("watch", short_help="Rescan APIs on a schedule and alert on changes (webhooks).")
@click.argument("targets", nargs=-1, required=False)
@table_options("watch")
@click.pass_context
def watch_command(ctx: click.Context, /, targets: tuple[str, ...], **params: Any) -> None:
    """Rescan TARGETS (and -i FILE) on a schedule and alert on regressions.

    Alerts: new findings at or above --alert-on, a grade drop, a certificate crossing an expiry
    threshold, a target that stopped answering; each once, with a recovery notice. They are
    kept in the store until a --webhook receiver took them. SIGTERM ends the watch after the
    targets in flight; a restart resumes where it stopped.
    """
    from ..watch.alerts import AlertPolicy
    from ..watch.loop import Watch, WatchSettings

    params.update(fmt="console", output=(), fail_on="none")  # scan's, not taken by watch
    settings = load_settings(ctx, params)
    values = settings.values
    configure_logging(values["verbose"])
    try:
        interval = parse_every(values["every"])
        days = parse_days(values["expiry_days"])
    except ValueError as exc:
        fail_usage(str(exc))
    urls = _targets(targets, values["inputs"])
    if not urls:
        fail_usage("give at least one TARGET URL, or -i FILE")
    hook = _webhook(
        values["webhook"],
        values["webhook_secret_env"],
        values["webhook_format"],
        values["webhook_timeout"],
        os.environ,
    )
    check_ca_file(values["ca_file"])
    credentials = parse_headers(values["headers"])
    credentials.update(parse_header_env(values["header_envs"], os.environ))
    protect_credentials(credentials)
    try:
        options = scan_options(values, headers=credentials)
    except ValueError as exc:
        fail_usage(str(exc))
    watch_settings = WatchSettings(
        targets=tuple(urls),
        every=interval,
        options=options,
        alerts=AlertPolicy(min_severity=Severity(values["alert_on"]), expiry_days=days),
        webhook=hook,
        policy=settings.config.policy if settings.config is not None else None,
        once=values["once"],
        batch=values["batch"],
    )
    open_store(values["store"], create=True, check=True).close()  # refused before any scan
    run_watch(Watch(store_path(values["store"]), watch_settings, say=say))


def run_watch(watch: Any, *, install: Callable[..., Any] = signal.signal) -> NoReturn:
    """Run the watch with SIGTERM (and SIGHUP) asking it to stop; exit 0 once it stopped."""
    from ..store import StoreError

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
        fail_usage(str(exc))
    pending = f", {summary.pending} alert(s) wait in the store" if summary.pending else ""
    say(
        f"watch stopped: {summary.cycles} cycle(s), {summary.scanned} target scan(s), "
        f"{summary.alerts} alert(s), {summary.delivered} delivered{pending}"
    )
    sys.exit(EXIT_OK)
