"""Logging for ``-v``/``-vv`` that never shows a secret and never forges a line.

What the HTTP stack logs at debug level is raw wire data: httpcore logs every response's headers
as a ``bytes`` list (a ``Set-Cookie``, a header echoing the user's key, a server's leaked secret),
h11 and hpack likewise. None of it can be redacted reliably, so from httpcore only the event name
is kept (``connect_tcp.started``, ``receive_response_headers.complete``, and for a failure the
exception's type), and the other wire loggers' records below WARNING are dropped. Everything else
goes through :class:`SafeFormatter`:

- URLs in the message have their query values and userinfo redacted (httpx's ``HTTP Request:``
  lines carry the full URL);
- the user's own credential values (registered with :func:`protect`) are scrubbed from the
  message and from any traceback;
- text is made visible (:mod:`keywire._display`): a record is one line; the lines of a traceback
  are indented, so nothing a server said can start a line of its own.

The CLI installs this with :func:`configure`; the library itself never configures logging.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

from ._display import visible
from .redact import redact_url, scrub

#: Loggers whose debug output is raw protocol data (headers, frames): never shown as is.
RAW_WIRE_LOGGERS = ("httpcore", "h11", "h2", "hpack", "hyperframe")
_EVENT = re.compile(r"[a-z_0-9]+(?:\.[a-z_0-9]+)*\.(?:started|complete|failed)")
_EXCEPTION = re.compile(r"exception=([A-Za-z_][\w.]*)")
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+""")
_secrets: set[str] = set()


def protect(values: Iterable[str]) -> None:
    """Scrub these values (the user's credential headers) from every log line from now on."""
    _secrets.update(v for v in values if v)


def _is_raw_wire(record: logging.LogRecord) -> bool:
    return record.levelno < logging.WARNING and any(
        record.name == name or record.name.startswith(name + ".") for name in RAW_WIRE_LOGGERS
    )


def _wire_event(record: logging.LogRecord) -> str | None:
    """What may be shown of a raw wire record: httpcore's event name (and exception type)."""
    if not (record.name == "httpcore" or record.name.startswith("httpcore.")):
        return None
    event, _, rest = record.getMessage().partition(" ")
    if not _EVENT.fullmatch(event):
        return None
    failure = _EXCEPTION.match(rest) if event.endswith(".failed") else None
    return f"{event} {failure.group(1)}" if failure else event


class SafeFormatter(logging.Formatter):
    """One visible, redacted line per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        if _is_raw_wire(record):
            message = _wire_event(record) or ""
            return f"keywire: {record.levelname} {record.name}: {message}"
        message = _safe(record.getMessage())
        head = f"keywire: {record.levelname} {record.name}: {message}"
        extra = ""
        if record.exc_info:
            extra = self.formatException(record.exc_info)
        elif record.exc_text:
            extra = record.exc_text
        if record.stack_info:
            extra = f"{extra}\n{record.stack_info}" if extra else record.stack_info
        if not extra:
            return head
        lines = [f"    {visible(scrub(line, _secrets))}" for line in extra.splitlines()]
        return "\n".join([head, *lines])


def _safe(text: str) -> str:
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return visible(scrub(text, _secrets))


class DropRawWire(logging.Filter):
    """Drop wire-level records that have nothing safe to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _is_raw_wire(record) or _wire_event(record) is not None


class _SafeHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure` installs (told apart from anyone else's)."""


def configure(verbose: int, stream: TextIO | None = None) -> None:
    """``-v`` logs INFO, ``-vv`` DEBUG, to stderr, through the safe formatter."""
    if not verbose:
        return
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SafeHandler)]:
        root.removeHandler(old)  # a second run in one process (tests) replaces the first
    handler = _SafeHandler(stream or sys.stderr)
    handler.setFormatter(SafeFormatter())
    handler.addFilter(DropRawWire())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
