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

Bodies are compared raw first: equal bytes need nothing more. Otherwise only the part where they
differ is normalised, at most :data:`HEAD_BYTES` of it, starting within the first
:data:`HEAD_BYTES` (an API that reads the credential says so at the start of its answer: an
error object, a different document). Two large answers that differ in a request ID cost a
comparison of bytes and the normalisation of a few hundred, not a pass over each body.

>>> strip_echo("https://api.test/v1?api_key=kw_canary_1f&x=1", "kw_canary_1f", ["api_key"])
'https://api.test/v1?x=1'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from urllib.parse import unquote

from ..net.models import HttpResponse

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


#: How much of the part where two bodies differ is compared (normalised).
HEAD_BYTES = 64 * 1024
#: What a probe whose answer is only compared reads of it (``ProbeContext.fetch(body_cap=...)``):
#: nothing past :data:`HEAD_BYTES` is compared, so nothing past it is downloaded.
COMPARED_BYTES = HEAD_BYTES
#: Bytes that no normalised token contains (a number, a hex run, the canary, an echoed
#: parameter): a body cut just after one normalises, piece by piece, as it does whole.
_SAFE = frozenset(b" \t\r\n\"',:{}[]<>()")
#: How far a cut looks for such a byte before it gives up and takes the whole body.
_SAFE_REACH = 512


def normalized_body(response: HttpResponse, canary: str, names: Sequence[str] = ()) -> bytes:
    """The body's first :data:`HEAD_BYTES` without the echoed canary, numbers and long hex runs."""
    return _normalized(response.body[:HEAD_BYTES], canary, tuple(names))


@functools.lru_cache(maxsize=64)  # keyed by the piece: at most 64 KiB each, never a whole body
def _normalized(piece: bytes, canary: str, names: tuple[str, ...]) -> bytes:
    return _VOLATILE.sub(b"#", _strip(piece, canary, names))


def _common_prefix(a: bytes, b: bytes) -> int:
    """How many leading bytes ``a`` and ``b`` share (a binary search of C comparisons)."""
    low, high = 0, min(len(a), len(b))
    view_a, view_b = memoryview(a), memoryview(b)
    while low < high:
        middle = (low + high + 1) // 2
        if view_a[low:middle] == view_b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many trailing bytes ``a`` and ``b`` share, at most ``limit``."""
    low, high = 0, limit
    view_a, view_b = memoryview(a), memoryview(b)
    while low < high:
        middle = (low + high + 1) // 2
        if view_a[len(a) - middle : len(a) - low] == view_b[len(b) - middle : len(b) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _start(data: bytes, at: int) -> int:
    """A cut at or before ``at`` just after a safe byte (0 when none is within reach)."""
    for position in range(at, max(0, at - _SAFE_REACH), -1):
        if data[position - 1] in _SAFE:
            return position
    return 0


def _end(data: bytes, at: int) -> int:
    """A cut at or after ``at`` just after a safe byte (the end when none is within reach)."""
    for position in range(max(at, 1), min(len(data), at + _SAFE_REACH)):
        if data[position - 1] in _SAFE:
            return position
    return len(data)


def bodies_differ(
    a: bytes,
    b: bytes,
    canary: str,
    names: Sequence[str] = (),
    *,
    a_truncated: bool = False,
    b_truncated: bool = False,
) -> bool:
    """Whether two bodies differ beyond the echoed canary, numbers and long hex runs.

    Equal bytes are equal. Otherwise only the part where they differ is normalised: what both
    begin and end with is left out (cut at a byte no token contains, with a margin, so the
    rest normalises as it would within the whole body), and of that part at most
    :data:`HEAD_BYTES`. A difference that starts beyond the first :data:`HEAD_BYTES` of the
    bodies is not looked at. Where a part was cut at that bound, its last characters may be
    half a number or half an echo: the parts are then compared on what both cover, less a
    margin for that, and a part that ended before the bound must not be much shorter than the
    other.

    >>> bodies_differ(b'{"id": 41, "error": "no key"}', b'{"id": 42, "error": "no key"}', "kw_canary_1")
    False
    >>> bodies_differ(b'{"error": "no key"}', b'{"error": "invalid key"}', "kw_canary_1")
    True
    """
    if a == b:
        return False
    # A body read to a cap says nothing past it: the other is looked at only as far (and its
    # end there is no real end either), which also lines up the ends of two answers alike.
    if b_truncated and len(a) > len(b):
        a, a_truncated = a[: len(b)], True
    elif a_truncated and len(b) > len(a):
        b, b_truncated = b[: len(a)], True
    if a == b:
        return False
    keys = tuple(names)
    margin = 64 + len(canary) + 2 * max((len(n) for n in keys), default=0)
    shared = _common_prefix(a, b)
    if shared >= HEAD_BYTES:
        return False
    start = _start(a, max(0, shared - margin))
    tail = _common_suffix(a, b, min(len(a), len(b)) - shared)
    end_a = _end(a, len(a) - tail + margin) if tail > margin else len(a)
    end_b = end_a - len(a) + len(b) if end_a < len(a) else len(b)
    cut_a = end_a - start > HEAD_BYTES or (a_truncated and end_a == len(a))
    cut_b = end_b - start > HEAD_BYTES or (b_truncated and end_b == len(b))
    part_a = _normalized(a[start : min(end_a, start + HEAD_BYTES)], canary, keys)
    part_b = _normalized(b[start : min(end_b, start + HEAD_BYTES)], canary, keys)
    if not cut_a and not cut_b:
        return part_a != part_b
    common = max(0, min(len(part_a), len(part_b)) - margin)
    if part_a[:common] != part_b[:common]:
        return True
    if not cut_a and len(part_b) > len(part_a) + margin:
        return True
    return not cut_b and len(part_a) > len(part_b) + margin


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
    return bodies_differ(
        a.body,
        b.body,
        canary,
        names,
        a_truncated=a.body_truncated,
        b_truncated=b.body_truncated,
    )


def size(response: HttpResponse) -> str:
    """The body's size as evidence: "1234 bytes", or "more than 65536 bytes" when read to a cap."""
    if response.body_truncated:
        return f"more than {len(response.body)} bytes"
    return f"{len(response.body)} bytes"
