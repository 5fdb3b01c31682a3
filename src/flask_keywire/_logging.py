"""Keep keys out of logs, and write audit events that name keys by id only.

:class:`KeyRedactingFilter` rewrites a log record whose text contains a key: keys of any prefix
keep their ``<prefix>_<id>_`` part (the id is not secret and is what audits need) and lose the
rest; ``Authorization``/``X-API-Key`` values and key-like query parameters (as in werkzeug's access
log lines) are replaced. ``KeyWire`` installs it on werkzeug's and the application's loggers;
add it to your own handlers for anything else::

    for handler in logging.getLogger().handlers:
        handler.addFilter(KeyRedactingFilter())
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from ._keys import KEY_IN_TEXT

REDACTED = "[redacted]"
DEFAULT_QUERY_PARAMS = ("api_key", "apikey", "key", "access_token", "token")

AUDIT_LOGGER = "flask_keywire.audit"
audit_log = logging.getLogger(AUDIT_LOGGER)

_SCHEME_VALUE = r"""(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest)\s+)?[^\s,;"']+"""
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "x-api-key")


class KeyRedactingFilter(logging.Filter):
    """A :class:`logging.Filter` that redacts keys, credential headers and key query parameters."""

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

    def redact(self, text: str) -> str:
        """``text`` with every key and credential value replaced."""
        text = KEY_IN_TEXT.sub(lambda m: m.group("head") + REDACTED, text)
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
            return True
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
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
