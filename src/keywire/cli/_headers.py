"""``--header`` and ``--header-env``: credentials checked, never printed, kept out of logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._exit import (
    fail_usage,
)


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            fail_usage("--header takes 'Name: value' (the value is never printed)")
        headers[name] = _checked_header(f"--header {name}", name, content.strip(" \t"))
    return headers


def _checked_header(option: str, name: str, value: str) -> str:
    """``value`` if it can be sent as is; else a usage error that never shows it."""
    from ..net.headers import HeaderError, check_credential_header

    try:
        check_credential_header(name, value)
    except HeaderError as exc:
        text, prefix = str(exc), f"header {name}: "
        if text.startswith(prefix):
            fail_usage(f"{option}: {text.removeprefix(prefix)}")
        fail_usage(f"{option.split()[0]}: {text}")  # an invalid name is not shown either
    return value


def parse_header_env(values: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--header-env NAME=VAR``: the header's value is read from environment variable VAR."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, variable = value.partition("=")
        name, variable = name.strip(), variable.strip()
        if not sep or not name or not variable or any(c.isspace() for c in name):
            fail_usage("--header-env takes NAME=VARIABLE, e.g. --header-env X-API-Key=API_KEY")
        content = environ.get(variable)
        if content is None or not content.strip():
            fail_usage(
                f"--header-env {name}={variable}: the environment variable {variable} is not set"
            )
        # Only spaces and tabs are trimmed: a line break anywhere is refused, not silently cut.
        value = content.strip(" \t")
        headers[name] = _checked_header(f"--header-env {name}={variable}", name, value)
    return headers


def protect_credentials(credentials: dict[str, str]) -> dict[str, str]:
    """Keep the user's credential values out of every log line."""
    from .._logsafe import protect

    protect(credentials.values())
    return credentials
