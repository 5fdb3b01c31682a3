"""Did adding a canary query parameter change the API's answer, or did the server only echo it?

Redirects that keep the query string are the most common way an answer "changes" without the
API reading anything: Flask's ``redirect(request.url.replace("http://", "https://", 1))`` and
nginx's ``return 301 https://$host$request_uri`` put ``?api_key=<canary>`` into ``Location`` (and
Flask into the body). Error pages do the same with the requested URL. Both sides of a comparison
are therefore normalised first: the canary and the ``name=`` it was sent under are removed
wherever they are echoed (raw, percent-encoded, HTML- or JSON-escaped), then numbers and long hex
runs (timestamps, request IDs). For two redirects only the status and the target (its
``Location``, normalised the same way) are compared: a redirect's body is a courtesy copy of
its ``Location``.

>>> strip_echo("https://api.test/v1?api_key=kw_canary_1f&x=1", "kw_canary_1f", ["api_key"])
'https://api.test/v1?x=1'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

from ..net.http import HttpResponse

_VOLATILE = re.compile(rb"[0-9a-fA-F]{8,}|\d+")
# What precedes an echoed parameter: ?, &, ; raw or escaped (HTML, JSON, percent-encoded).
_SEPARATORS = rb"(\?|&amp;|&#38;|&|;|\\u0026|%26|%3[fF])"


_EMPTY_AFTER_QUESTION = re.compile(r"\?[&;]+")
_REPEATED_AMPERSANDS = re.compile(r"[&;]{2,}")


def _echo_pattern(names: Sequence[str]) -> re.Pattern[bytes] | None:
    if not names:
        return None
    alternatives = b"|".join(re.escape(n.encode()) for n in names)
    return re.compile(_SEPARATORS + rb"(?:" + alternatives + rb")(?:=|%3[dD])")


def _strip(data: bytes, canary: str, names: Sequence[str]) -> bytes:
    data = data.replace(canary.encode(), b"")
    pattern = _echo_pattern(names)
    if pattern is None:
        return data
    # "?name=" leaves its "?" (a query may go on after it), "&name=" and the like go entirely.
    return pattern.sub(lambda m: b"?" if m.group(1) in (b"?", b"%3f", b"%3F") else b"", data)


def strip_echo(text: str, canary: str, names: Sequence[str]) -> str:
    """``text`` (a URL) without the canary parameters a server echoed into it."""
    stripped = _strip(unquote(text).encode("utf-8", "replace"), canary, names)
    cleaned = _EMPTY_AFTER_QUESTION.sub("?", stripped.decode("utf-8", "replace"))
    return _REPEATED_AMPERSANDS.sub("&", cleaned).rstrip("?&;")


def normalized_body(response: HttpResponse, canary: str, names: Sequence[str] = ()) -> bytes:
    """The body without the echoed canary, numbers and long hex runs."""
    return _VOLATILE.sub(b"#", _strip(response.body, canary, names))


def _challenge(response: HttpResponse) -> str:
    return (response.header("www-authenticate") or "").strip().lower()


def _target(response: HttpResponse, canary: str, names: Sequence[str]) -> str:
    return strip_echo(response.location or "", canary, names)


def strictly_differ(
    a: HttpResponse, b: HttpResponse, canary: str, names: Sequence[str] = ()
) -> bool:
    """A different status, challenge or redirect target: the API reacted, beyond doubt."""
    if a.status != b.status or _challenge(a) != _challenge(b):
        return True
    if a.is_redirect and b.is_redirect:
        return _target(a, canary, names) != _target(b, canary, names)
    return False


def answers_differ(
    a: HttpResponse | object, b: HttpResponse | object, canary: str, names: Sequence[str] = ()
) -> bool:
    """Whether ``b`` (sent with the canary under ``names``) differs from ``a`` beyond an echo.

    Anything that is not a response (a failure, None) never differs: there is nothing to compare.
    """
    if not isinstance(a, HttpResponse) or not isinstance(b, HttpResponse):
        return False
    if strictly_differ(a, b, canary, names):
        return True
    if a.is_redirect and b.is_redirect:
        return False
    return normalized_body(a, canary, names) != normalized_body(b, canary, names)
