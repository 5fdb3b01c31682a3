"""Keep keys out of logs, and write audit events that name keys by id only.

:class:`KeyRedactingFilter` rewrites a log record whose text contains a key: its message, its
exception text (``exc_info``/``exc_text``: a view's exception may quote a header) and its stack
text. Keys of any prefix keep their ``<prefix>_<id>_`` part (the id is not secret and is what
audits need) and lose the rest, also percent-encoded or inside base64 (``Basic base64(key:)``);
``Authorization``/``X-API-Key`` values and key-like query parameters (as in access log lines) are
replaced. ``KeyWire`` installs it on the loggers of werkzeug, gunicorn (``gunicorn.access``,
``gunicorn.error``), flask_keywire and the application; add it to your own handlers for
anything else::

    for handler in logging.getLogger().handlers:
        handler.addFilter(KeyRedactingFilter())
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote

from keywire.keyformat import CHECKSUM_LENGTH, ID_LENGTH, KEY_TAIL, SECRET_LENGTH

from ._scan import B64_RUN, PCT_RUN, b64decode_loose
from ._text import visible

REDACTED = "[redacted]"
DEFAULT_QUERY_PARAMS = ("api_key", "apikey", "key", "access_token", "token")

AUDIT_LOGGER = "flask_keywire.audit"
audit_log = logging.getLogger(AUDIT_LOGGER)

_SCHEME_VALUE = r"""(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest)\s+)?[^\s,;"']+"""
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "x-api-key")

# The tail of a key (``_<id>_<secret><checksum>``), also with percent-encoded underscores. No
# boundary and no checksum are required: in a log, erring towards redaction is right.
_SEP = r"(?:_|%5[Ff])"
_TAIL = re.compile(
    rf"(?P<head>{_SEP}[0-9A-Za-z]{{{ID_LENGTH}}}{_SEP})[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}"
)


def _redact_percent(match: re.Match[str]) -> str:
    """A run with percent escapes: redacted whole if a key hides inside it once decoded."""
    run = match.group()
    if "%" in run and KEY_TAIL.search(unquote(run, encoding="latin-1")):
        return REDACTED
    return run


def _redact_base64(match: re.Match[str]) -> str:
    """A base64 run: redacted whole if it decodes to text holding a key."""
    run = match.group()
    decoded = b64decode_loose(run)
    if decoded is not None and KEY_TAIL.search(decoded):
        return REDACTED
    return run


class KeyRedactingFilter(logging.Filter):
    """A :class:`logging.Filter` that redacts keys, credential headers and key query parameters,
    in the message, the exception text and the stack text of a record."""

    def __init__(
        self,
        query_params: Iterable[str] = DEFAULT_QUERY_PARAMS,
        header_names: Iterable[str] = DEFAULT_HEADERS,
    ) -> None:
        super().__init__()
        header_set = {h.lower() for h in (*DEFAULT_HEADERS, *header_names)}
        headers = "|".join(re.escape(h) for h in sorted(header_set, key=len, reverse=True))
        self._headers = re.compile(rf"(?i)(?<![\w-])({headers}){_SCHEME_VALUE}")
        names = "|".join(re.escape(p) for p in sorted(set(query_params), key=len, reverse=True))
        self._query = re.compile(rf"(?i)([?&;](?:{names})=)[^&#;\s\"']*") if names else None
        self._formatter = logging.Formatter()

    def redact(self, text: str) -> str:
        """``text`` with every key and credential value replaced."""
        if "%" in text:
            text = PCT_RUN.sub(_redact_percent, text)
        text = _TAIL.sub(lambda m: m.group("head") + REDACTED, text)
        text = B64_RUN.sub(_redact_base64, text)
        text = self._headers.sub(
            lambda m: m.group(1) + m.group(2) + (f"{m.group(3)} " if m.group(3) else "") + REDACTED,
            text,
        )
        if self._query is not None:
            text = self._query.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours to hide
            message = None
        if message is not None:
            cleaned = self.redact(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = None
        if record.exc_info and not record.exc_text:
            # Render the traceback now, as logging.Formatter would, so it can be redacted.
            text = self._formatter.formatException(record.exc_info)
            cleaned = self.redact(text)
            if cleaned != text:
                record.exc_text = cleaned
                # No handler may render the raw exception again (its message quotes the key).
                record.exc_info = None
        elif record.exc_text:
            cleaned = self.redact(record.exc_text)
            if cleaned != record.exc_text:
                record.exc_text = cleaned
                record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_filter(
    logger: logging.Logger, query_params: Iterable[str], header_names: Iterable[str] = ()
) -> None:
    """Add a :class:`KeyRedactingFilter` to ``logger`` unless one is there already."""
    if not any(isinstance(f, KeyRedactingFilter) for f in logger.filters):
        logger.addFilter(KeyRedactingFilter(query_params, header_names))


def audit(event: str, *, key_id: str, level: int = logging.WARNING, **fields: str) -> None:
    """Log an audit event on ``flask_keywire.audit``: the key's id and facts, never the key.

    The fields are also attached to the record (``record.keywire_event``, ``record.key_id``, …)
    for structured log handlers.
    """
    # Values can come from users (a key's name): escaped, so they cannot forge log lines.
    fields = {k: visible(v) for k, v in fields.items()}
    details = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    audit_log.log(
        level,
        "%s key_id=%s %s",
        event,
        key_id,
        details,
        extra={
            "keywire_event": event,
            "key_id": key_id,
            **{f"keywire_{k}": v for k, v in fields.items()},
        },
    )
