"""Redaction of secrets at the place they are captured.

A secret keywire sees (a key in a response body, a cookie value, a user's own header) is turned into
a :class:`Redacted` value before it goes anywhere else: a short prefix, the last four characters and a
SHA-256 fingerprint. The raw value never reaches findings, logs or reports.

>>> str(redact("sk_live_" + "0123456789abcdefABCDEFGH"))
'sk_liv…EFGH (sha256:a3cdd5e8…)'
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from ._dataclass import dataclass

if TYPE_CHECKING:
    from ._models import TargetResult

_PREFIX_CHARS = 6
_SUFFIX_CHARS = 4


@dataclass(frozen=True, kw_only=True)
class Redacted:
    """A secret reduced to what is safe to show."""

    prefix: str
    suffix: str
    length: int
    sha256: str

    def __str__(self) -> str:
        if not self.prefix and not self.suffix:
            return f"[{self.length} chars] (sha256:{self.sha256[:8]}…)"
        return f"{self.prefix}…{self.suffix} (sha256:{self.sha256[:8]}…)"


def redact(secret: str, *, prefix_chars: int = _PREFIX_CHARS) -> Redacted:
    """Reduce ``secret`` to a prefix, its last 4 characters and a SHA-256 fingerprint.

    Short secrets keep less: a value of 12 characters or fewer shows no characters at all, so that
    prefix and suffix together never reveal more than half of it.
    """
    digest = hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()
    n = len(secret)
    if n <= 12:
        return Redacted(prefix="", suffix="", length=n, sha256=digest)
    shown_prefix = min(prefix_chars, n // 2 - _SUFFIX_CHARS)
    return Redacted(
        prefix=secret[: max(shown_prefix, 0)],
        suffix=secret[-_SUFFIX_CHARS:],
        length=n,
        sha256=digest,
    )


#: Query parameters that carry credentials: those KW120 probes, those KW708 reports in redirect
#: URLs, and a few more spellings. Compared without case, ``-`` or ``_`` (``API-Key`` = ``apikey``).
CREDENTIAL_QUERY_PARAMETERS = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "key",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "auth",
        "auth_token",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "pwd",
        "private_token",
        "session",
        "sessionid",
        "session_id",
        "jwt",
    }
)
_CREDENTIAL_NAMES = frozenset(
    n.replace("_", "").replace("-", "") for n in CREDENTIAL_QUERY_PARAMETERS
)


def credential_parameters(query: str) -> list[str]:
    """The names of the query parameters of ``query`` that carry a (non-empty) credential.

    >>> credential_parameters("page=2&API_KEY=abc&access-token=x&token=")
    ['API_KEY', 'access-token']
    """
    from urllib.parse import parse_qsl

    return [
        name
        for name, value in parse_qsl(query, keep_blank_values=True)
        if value and is_credential_parameter(name)
    ]


def is_credential_parameter(name: str) -> bool:
    """True for a query parameter name that carries a credential (``api_key``, ``Token`` …)."""
    return name.lower().replace("_", "").replace("-", "") in _CREDENTIAL_NAMES


_QUERY_VALUE = re.compile(r"([?&;#][^=&#;]+=)([^&#;]*)")


def redact_url(url: str) -> str:
    """Redact every query-string value of ``url`` and any userinfo part.

    >>> redact_url("https://u:p@api.example/x?api_key=abcdefghijklmnop&page=2")
    'https://[redacted]@api.example/x?api_key=[redacted]&page=[redacted]'
    """
    url = re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@?#]*@", r"\1[redacted]@", url)
    return _QUERY_VALUE.sub(lambda m: m.group(1) + ("[redacted]" if m.group(2) else ""), url)


_MIN_SECRET_PART = 6
_SCRUBBED = "[credential]"


_SCHEMES = frozenset({"basic", "bearer", "digest", "token", "apikey", "api-key", "key", "dpop"})


def _secret_parts(secret: str) -> list[str]:
    """The pieces of a header value worth hiding, longest first.

    The whole value; each word of it but an authentication scheme (``Bearer abc…`` hides
    ``abc…``, never the word ``Bearer``); the value of each ``name=value`` piece (a ``Cookie``
    header's values); and for ``Basic``, the decoded ``user:password`` and the password.
    """
    value = secret.strip()
    parts = {value}
    words = [w for w in re.split(r"[\s;,]+", value) if w]
    scheme = words.pop(0).lower() if len(words) > 1 and words[0].lower() in _SCHEMES else ""
    for word in words:
        parts.add(word)
        if "=" in word.strip("="):
            parts.add(word.split("=", 1)[1])
    if scheme == "basic" and words:
        import base64
        import binascii

        try:
            decoded = base64.b64decode(words[0], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        parts.update({decoded, decoded.partition(":")[2]})
    return sorted((p for p in parts if len(p) >= _MIN_SECRET_PART), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (a user's header value) replaced.

    Error texts of HTTP libraries quote what they refused or failed to parse, sometimes as a
    ``bytes`` repr and sometimes cut short; a hostile server can echo a credential anywhere in its
    answer. So each long word of a secret is hidden too, in its repr form, and a cut-off start of
    one at the very end of the text (a truncated message) as well. Pieces shorter than 6
    characters are not scrubbed: they would hide ordinary words.

    >>> scrub("illegal header value b'kw-9f2c4e6a' in 'Bearer kw-9f2c4e6a'", ["Bearer kw-9f2c4e6a"])
    "illegal header value b'[credential]' in '[credential]'"
    >>> scrub("line was: GET /x X-API-Key: kw-9f2c", ["kw-9f2c4e6a"])
    'line was: GET /x X-API-Key: [credential]'
    """
    for secret in secrets:
        for part in _secret_parts(secret):
            for form in {part, repr(part)[1:-1], repr(part.encode("utf-8", "replace"))[2:-1]}:
                if form:
                    text = text.replace(form, _SCRUBBED)
            text = _scrub_cut_tail(text, part)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """``data`` (a body) with every occurrence of each secret's pieces replaced, as :func:`scrub`
    does in text.

    >>> scrub_bytes(b'{"echo": "Bearer kw-9f2c4e6a"}', ["Bearer kw-9f2c4e6a"])
    b'{"echo": "[credential]"}'
    """
    marker = _SCRUBBED.encode()
    for secret in secrets:
        for part in _secret_parts(secret):
            raw = part.encode("utf-8", "replace")
            if raw in data:
                data = data.replace(raw, marker)
    return data


def _scrub_cut_tail(text: str, part: str) -> str:
    """Hide a start of ``part`` (at least 6 characters) that ends ``text`` (a truncated quote)."""
    for n in range(min(len(part) - 1, len(text)), _MIN_SECRET_PART - 1, -1):
        if text.endswith(part[:n]):
            return text[: len(text) - n] + _SCRUBBED
    return text


def scrub_result(result: TargetResult, secrets: Collection[str] = ()) -> TargetResult:
    """``result`` with every text in it cleaned: the last line of defence before any report.

    Credentials are never put into findings on purpose, but a hostile server can echo one into any
    header a check quotes (an HSTS value, a status line in an error), and an exception inside a
    probe can carry one in its message: :func:`scrub` hides the user's ``secrets`` wherever they
    got. The same holds for a secret of a known format (an API key) a check quoted from a
    response: it is replaced by its redacted form (it is reported as its own finding, KW701).
    """
    from .secrets.scanner import secret_values

    strings: list[str] = [result.error]
    for finding in result.findings:
        strings += [finding.message, finding.location]
        strings += [part for pair in finding.evidence for part in pair]
    strings += [outcome.reason for outcome in result.outcomes]
    _strings_in(result.details, strings)
    # One detector pass over everything (separated by NUL, which no secret pattern spans).
    shown = [(raw, str(redact(raw))) for raw in secret_values("\x00".join(strings))]
    if not secrets and not shown:
        return result

    def text(value: str) -> str:
        value = scrub(value, secrets) if secrets else value
        for raw, redacted in shown:
            value = value.replace(raw, redacted)
        return value

    def walk(value: object, depth: int = 0) -> object:
        if isinstance(value, str):
            return text(value)
        if depth > _MAX_DEPTH:
            return "[too deep]"
        if isinstance(value, Mapping):
            return {
                text(k) if isinstance(k, str) else k: walk(v, depth + 1) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(walk(v, depth + 1) for v in value)
        return value

    findings = tuple(
        dataclasses.replace(
            f,
            message=text(f.message),
            evidence=tuple((text(k), text(v)) for k, v in f.evidence),
            location=text(f.location),
        )
        for f in result.findings
    )
    outcomes = tuple(dataclasses.replace(o, reason=text(o.reason)) for o in result.outcomes)
    details = walk(result.details)
    assert isinstance(details, dict)
    return dataclasses.replace(
        result, error=text(result.error), findings=findings, outcomes=outcomes, details=details
    )


_MAX_DEPTH = 64
"""Details are keywire's own shallow structures; anything deeper is cut, not walked."""


def _strings_in(value: object, into: list[str], depth: int = 0) -> None:
    kind = type(value)
    if kind is str:
        into.append(value)  # type: ignore[arg-type]
    elif kind is int or kind is float or kind is bool or value is None:
        return  # most of a result's details: nothing to look into
    elif isinstance(value, str):
        into.append(value)
    elif depth > _MAX_DEPTH:
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                into.append(key)
            _strings_in(item, into, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings_in(item, into, depth + 1)
