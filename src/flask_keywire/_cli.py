"""``flask keywire``: create, list, revoke and rotate keys, and serve HTTPS for development.

A new key is printed once, alone on stdout (so it can be piped into a secret store); everything
else goes to stderr. The key is never stored or logged. Text read from the store (names, scopes)
is shown with control characters escaped, and every error is one line, never a traceback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar, cast

import click
from flask import current_app
from flask.cli import AppGroup

from ._config import DEFAULT, MAX_DURATION, Default, lifetime_from
from ._extension import KeyWire
from ._store import KeyRecord, ReadOnlyStoreError, hash_line
from ._text import visible

P = ParamSpec("P")
R = TypeVar("R")

_DURATION = re.compile(r"(\d{1,7})\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
NEVER = ("never", "none")


def parse_duration(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``1w2d``, ``30m``, ``0`` → timedelta; ``never`` → None.

    At most 3650 days (10 years): a longer lifetime is ``never`` in all but name.

    >>> parse_duration("90d")
    datetime.timedelta(days=90)
    """
    value = text.strip().lower()
    if value in NEVER:
        return None
    if value == "0":
        return timedelta(0)
    if not value or _DURATION.sub("", value).strip():
        raise ValueError(f"{text!r} is not a duration: use e.g. 90d, 12h, 30m, 1w, or never")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(value))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(
            f"{text!r} is too long: at most {MAX_DURATION.days}d (10 years); "
            "use never for a key that does not expire"
        )
    return timedelta(seconds=seconds)


def _duration(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> timedelta | str | None:
    """Parse an option's duration; keep None (not given) apart from ``never`` (the string)."""
    if value is None:
        return None
    try:
        parsed = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return "never" if parsed is None else parsed


def _lifetime(
    value: timedelta | str | None, default: timedelta | Default | None
) -> timedelta | Default | None:
    """An option's value as a lifetime: ``default`` if not given, None for ``never``."""
    if value is None:
        return default
    if isinstance(value, str):
        return None  # "never"
    return value


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn any error into click's one-line ``Error: ...`` (exit 1) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise click.ClickException(
                visible(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
            ) from None

    return wrapper


def _extension() -> KeyWire:
    return cast(KeyWire, current_app.extensions["keywire"].extension)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _scopes(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


keywire_cli = AppGroup("keywire", help="Manage flask_keywire API keys.")


@keywire_cli.command("create")
@click.option("--name", required=True, help="Who or what the key is for (printable text).")
@click.option("--scopes", default="", help="Comma-separated scopes, e.g. read,write.")
@click.option(
    "--expires",
    callback=_duration,
    help="Lifetime: 90d, 12h, 1w, ... or never. Default: KEYWIRE_KEY_LIFETIME (90d).",
)
@click.option("--prefix", help="Key prefix (default: KEYWIRE_KEY_PREFIX).")
@click.option(
    "--hash-only",
    is_flag=True,
    help="Store nothing; print the key's KEYWIRE_API_KEY_HASH line (for configured keys).",
)
@_one_line_errors
def create_command(
    name: str, scopes: str, expires: timedelta | str | None, prefix: str | None, hash_only: bool
) -> None:
    """Create a key and print it once."""
    keywire = _extension()
    lifetime = _lifetime(expires, lifetime_from(current_app.config))
    try:
        if hash_only or keywire.store.read_only:
            plaintext, record = keywire.issue_key(
                name, scopes=_scopes(scopes), expires_in=None, prefix=prefix
            )
            click.echo(plaintext)
            why = "Not stored." if hash_only else "The key store is read-only."
            click.echo(
                f"{why} Add this line to KEYWIRE_API_KEY_HASH "
                f"(it holds the key's digest, not the key):\n{hash_line(record)}",
                err=True,
            )
            if expires is not None:
                click.echo("Configured keys do not expire: --expires is ignored.", err=True)
            return
        plaintext, record = keywire.create_key(
            name, scopes=_scopes(scopes), expires_in=lifetime, prefix=prefix
        )
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(plaintext)
    never = " (never: consider --expires 90d)" if record.expires_at is None else ""
    click.echo(
        f"Created key {record.id} ({visible(record.name)}; scopes: "
        f"{visible(' '.join(sorted(record.scopes))) or '-'}; expires: "
        f"{_when(record.expires_at)}{never}). It is shown only this once: store it now.",
        err=True,
    )


@keywire_cli.command("list")
@_one_line_errors
def list_command() -> None:
    """List keys (never their secrets)."""
    keywire = _extension()
    pending = set(keywire.apply_pending_revocations())
    now = keywire.clock()
    records: list[KeyRecord] = keywire.list_keys()
    rows: list[tuple[str, ...]] = [
        ("ID", "NAME", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED")
    ]
    for r in records:
        status = r.status(now)
        if r.id in pending and status != "revoked":
            status = "revocation pending (cleartext)"
        elif status == "revoked" and r.revoked_reason:
            status = f"revoked ({r.revoked_reason})"
        elif status == "active" and r.replaced_by:
            status = f"rotating to {r.replaced_by}"
        rows.append(
            tuple(
                visible(cell)
                for cell in (
                    r.id,
                    r.name,
                    ",".join(sorted(r.scopes)) or "-",
                    status,
                    _when(r.created_at),
                    _when(r.expires_at),
                    _when(r.last_used_at),
                )
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@keywire_cli.command("revoke")
@click.argument("key_id")
@_one_line_errors
def revoke_command(key_id: str) -> None:
    """Revoke a key now."""
    try:
        revoked = _extension().revoke_key(key_id)
    except ReadOnlyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not revoked:
        raise click.ClickException(f"no active key {visible(key_id)} (unknown or already revoked)")
    click.echo(f"Revoked key {visible(key_id)}.", err=True)


@keywire_cli.command("rotate")
@click.argument("key_id")
@click.option(
    "--overlap",
    callback=_duration,
    default="7d",
    show_default=True,
    help="How long the old key keeps working (0: it stops now; never is refused).",
)
@click.option(
    "--expires",
    callback=_duration,
    help="Lifetime of the new key (default: the old one's; never for no expiry).",
)
@_one_line_errors
def rotate_command(
    key_id: str, overlap: timedelta | str | None, expires: timedelta | str | None
) -> None:
    """Replace a key; the old one keeps working during the overlap."""
    if not isinstance(overlap, timedelta):
        raise click.BadParameter(
            "an overlap cannot be 'never': the old key would keep working forever, which is "
            "not a rotation. Give a duration (e.g. 7d), or 0 to stop the old key now",
            param_hint="'--overlap'",
        )
    keywire = _extension()
    try:
        plaintext, record = keywire.rotate_key(
            key_id,
            overlap=overlap,
            expires_in=_lifetime(expires, DEFAULT),
        )
    except KeyError:
        raise click.ClickException(f"no key {visible(key_id)}") from None
    except (ValueError, ReadOnlyStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(plaintext)
    until = keywire.clock() + overlap
    click.echo(
        f"Key {record.id} replaces {visible(key_id)}, which keeps working until {_when(until)}. "
        "The new key is shown only this once: store it now.",
        err=True,
    )


@keywire_cli.command("serve-dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@_one_line_errors
def serve_dev_command(host: str, port: int) -> None:
    """Serve the app over HTTPS on loopback, for development, with a throwaway local CA.

    The CA and the server certificate (for 127.0.0.1, ::1 and localhost) live in the instance
    folder (keywire-dev/); the CA's private key is discarded once the certificate is signed.
    Point clients at the CA file it prints (curl --cacert). Not for production.
    """
    from ._devserver import serve

    serve(current_app._get_current_object(), host=host, port=port)  # type: ignore[attr-defined]
