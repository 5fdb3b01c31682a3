"""``flask keywire``: create, list, revoke and rotate keys from the command line.

A new key is printed once, alone on stdout (so it can be piped into a secret store); everything
else goes to stderr. The key is never stored or logged.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import cast

import click
from flask import current_app
from flask.cli import AppGroup

from ._extension import KeyWire
from ._store import KeyRecord, ReadOnlyStoreError, hash_line

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``1w2d``, ``30m``, ``0`` → timedelta; ``never`` → None.

    >>> parse_duration("90d")
    datetime.timedelta(days=90)
    """
    value = text.strip().lower()
    if value in ("never", "none"):
        return None
    if value == "0":
        return timedelta(0)
    if not value or _DURATION.sub("", value).strip():
        raise ValueError(f"{text!r} is not a duration: use e.g. 90d, 12h, 30m, 1w, or never")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(value)))


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _extension() -> KeyWire:
    return cast(KeyWire, current_app.extensions["keywire"].extension)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _scopes(text: str) -> list[str]:
    return [s for s in re.split(r"[\s,]+", text) if s]


keywire_cli = AppGroup("keywire", help="Manage flask_keywire API keys.")


@keywire_cli.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scopes", default="", help="Comma-separated scopes, e.g. read,write.")
@click.option(
    "--expires",
    callback=_duration,
    default="never",
    show_default=True,
    help="Lifetime: 90d, 12h, 1w, or never.",
)
@click.option("--prefix", help="Key prefix (default: KEYWIRE_KEY_PREFIX).")
@click.option(
    "--hash-only",
    is_flag=True,
    help="Store nothing; print the key's KEYWIRE_API_KEY_HASH line (for configured keys).",
)
def create_command(
    name: str, scopes: str, expires: timedelta | None, prefix: str | None, hash_only: bool
) -> None:
    """Create a key and print it once."""
    keywire = _extension()
    try:
        if hash_only or keywire.store.read_only:
            plaintext, record = keywire.issue_key(
                name, scopes=_scopes(scopes), expires_in=expires, prefix=prefix
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
            name, scopes=_scopes(scopes), expires_in=expires, prefix=prefix
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(plaintext)
    click.echo(
        f"Created key {record.id} ({record.name}; scopes: {' '.join(sorted(record.scopes)) or '-'}; "
        f"expires: {_when(record.expires_at)}). It is shown only this once: store it now.",
        err=True,
    )


@keywire_cli.command("list")
def list_command() -> None:
    """List keys (never their secrets)."""
    keywire = _extension()
    now = keywire.clock()
    records: list[KeyRecord] = keywire.list_keys()
    rows = [("ID", "NAME", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED")]
    for r in records:
        status = r.status(now)
        if status == "revoked" and r.revoked_reason:
            status = f"revoked ({r.revoked_reason})"
        elif status == "active" and r.replaced_by:
            status = f"rotating to {r.replaced_by}"
        rows.append(
            (
                r.id,
                r.name,
                ",".join(sorted(r.scopes)) or "-",
                status,
                _when(r.created_at),
                _when(r.expires_at),
                _when(r.last_used_at),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@keywire_cli.command("revoke")
@click.argument("key_id")
def revoke_command(key_id: str) -> None:
    """Revoke a key now."""
    try:
        revoked = _extension().revoke_key(key_id)
    except ReadOnlyStoreError as exc:
        raise click.ClickException(str(exc)) from None
    if not revoked:
        raise click.ClickException(f"no active key {key_id} (unknown or already revoked)")
    click.echo(f"Revoked key {key_id}.", err=True)


@keywire_cli.command("rotate")
@click.argument("key_id")
@click.option(
    "--overlap",
    callback=_duration,
    default="7d",
    show_default=True,
    help="How long the old key keeps working.",
)
@click.option(
    "--expires", callback=_duration, help="Lifetime of the new key (default: the old one's)."
)
def rotate_command(key_id: str, overlap: timedelta | None, expires: timedelta | None) -> None:
    """Replace a key; the old one keeps working during the overlap."""
    keywire = _extension()
    try:
        plaintext, record = keywire.rotate_key(
            key_id, overlap=overlap or timedelta(0), expires_in=expires
        )
    except KeyError:
        raise click.ClickException(f"no key {key_id}") from None
    except (ValueError, ReadOnlyStoreError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(plaintext)
    until = keywire.clock() + (overlap or timedelta(0))
    click.echo(
        f"Key {record.id} replaces {key_id}, which keeps working until {_when(until)}. "
        "The new key is shown only this once: store it now.",
        err=True,
    )
