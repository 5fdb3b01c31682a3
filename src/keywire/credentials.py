"""Which credential headers a user may hand keywire, checked before anything is sent.

Scans (``--header`` on ``keywire scan``, ``ScanOptions.headers``) and token sampling
(``keywire tokens --header``) take the same headers: Authorization, Proxy-Authorization, Cookie
and X-* headers, each with a value that can be sent as is. Messages name the header, never its
value.

>>> check_credential_headers({"X-API-Key": "kw-live-0123456789"})
>>> check_credential_headers({"Host": "example.com"})
Traceback (most recent call last):
...
ValueError: header 'Host' is not sent: only Authorization, Cookie and X-* headers are allowed
"""

from __future__ import annotations

from collections.abc import Mapping

from .net.headers import check_credential_header

#: Headers a user may pass as credentials (besides any X-* header); anything else is refused.
CREDENTIAL_HEADER_ALLOWLIST = ("authorization", "x-api-key", "cookie", "proxy-authorization")


def check_credential_headers(headers: Mapping[str, str]) -> None:
    """Raise ``ValueError`` (a :class:`~keywire.net.headers.HeaderError` for a malformed one)
    unless every header may be sent as a credential."""
    for name, value in headers.items():
        check_credential_header(name, value)  # never quotes the value
        lowered = name.lower()
        if lowered not in CREDENTIAL_HEADER_ALLOWLIST and not lowered.startswith("x-"):
            raise ValueError(
                f"header {name!r} is not sent: only Authorization, Cookie and X-* headers are "
                "allowed"
            )
