"""Keys out of gunicorn's logs: a logger class for gunicorn's ``logger_class`` setting.

gunicorn's access log writes the request line, query string included, and any request header a
custom ``access_log_format`` asks for (``%({authorization}i)s``): a key sent as ``?api_key=``
would be kept in the log. Configure::

    # gunicorn.conf.py
    logger_class = "flask_keywire.gunicorn.RedactingLogger"

or ``gunicorn --logger-class flask_keywire.gunicorn.RedactingLogger app:app``. Every atom of
the access log is redacted before it is formatted (credential headers whole, keys and key-like
query parameters inside any value), and :class:`~flask_keywire.KeyRedactingFilter` sits on
``gunicorn.error`` and ``gunicorn.access``, through configuration reloads.

``KeyWire(app)`` also puts the filter on both gunicorn loggers when the application is loaded in
the worker, which covers gunicorn's default logger; the logger class adds the structured atoms
(for log configurations that read ``record.args``) and covers ``--preload``-less reloads.

This module imports gunicorn, so import it only where gunicorn runs.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from ._logging import DEFAULT_HEADERS, DEFAULT_QUERY_PARAMS, REDACTED, KeyRedactingFilter

#: Request headers whose values are credentials, redacted whole in the access log's atoms.
CREDENTIAL_HEADERS = frozenset((*DEFAULT_HEADERS, "cookie"))

_filter = KeyRedactingFilter(DEFAULT_QUERY_PARAMS, DEFAULT_HEADERS)


def redact_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's access-log atoms with credentials and keys redacted.

    >>> redact_atoms({"r": "GET /v1?api_key=abc HTTP/1.1", "{authorization}i": "Bearer x"})
    {'r': 'GET /v1?api_key=[redacted] HTTP/1.1', '{authorization}i': '[redacted]'}
    """
    cleaned: dict[str, Any] = {}
    for name, value in atoms.items():
        if name.startswith("{") and name.endswith("}i") and name[1:-2] in CREDENTIAL_HEADERS:
            cleaned[name] = REDACTED if value else value
        elif name.startswith("{") and name.endswith("}e") and name[1:-2].startswith("http_"):
            header = name[1:-2][5:].replace("_", "-")
            cleaned[name] = REDACTED if header in CREDENTIAL_HEADERS and value else value
            if cleaned[name] is value and isinstance(value, str):
                cleaned[name] = _filter.redact(value)
        elif isinstance(value, str):
            cleaned[name] = _filter.redact(value)
        else:
            cleaned[name] = value
    return cleaned


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with keys and credentials redacted from the access and error logs."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, KeyRedactingFilter) for f in log.filters):
                log.addFilter(KeyRedactingFilter(DEFAULT_QUERY_PARAMS, DEFAULT_HEADERS))

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return redact_atoms(super().atoms(resp, req, environ, request_time))
