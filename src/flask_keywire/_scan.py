"""Find keys wherever a request carries them: for revocation over cleartext, and for log redaction.

A key that crossed the network in the clear is burned wherever it was: any header (every value of
a repeated one: servers join them as ``KEY,KEY``), ``Authorization: Basic base64(key:)``,
``Token key``, ``Proxy-Authorization``, a cookie, the path, the query string (``?api_key=key,``)
or a form body. The request's text is searched as it is, percent-decoded, and base64-decoded where
a run of base64 is long enough to hold a key; :func:`keywire.keyformat.find_keys` then finds
checksum-valid keys without needing any boundary around them, so what is found is exact and cheap
to verify.

The work is bounded: headers and the URL as the server accepted them (gunicorn limits them to
100 fields of 8 KiB and a 4 KiB request line by default), the body up to
``KEYWIRE_CLEARTEXT_BODY_LIMIT`` bytes (64 KiB by default), at most :data:`MAX_KEYS` distinct keys;
the search is linear in the text (about 15 ms for 64 KiB built to be the worst case, well under
1 ms for ordinary requests).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from urllib.parse import unquote, unquote_plus

from keywire.keyformat import KEY_LENGTH_RANGE, find_keys

#: Distinct keys looked up per request at most (each costs a lookup and an HMAC).
MAX_KEYS = 1024
DEFAULT_BODY_LIMIT = 64 * 1024

# A base64 (standard or URL-safe) run long enough to encode the shortest key.
_MIN_B64 = (KEY_LENGTH_RANGE[0] * 4) // 3
B64_RUN = re.compile(rf"[A-Za-z0-9+/_\-]{{{_MIN_B64},}}={{0,2}}")
# A run of URL-ish text with percent escapes, long enough to hold a key once decoded.
PCT_RUN = re.compile(rf"(?:%[0-9A-Fa-f]{{2}}|[0-9A-Za-z_.~+\-]){{{KEY_LENGTH_RANGE[0]},}}")


def b64decode_loose(text: str) -> str | None:
    """``text`` decoded as standard or URL-safe base64 (padding optional), as latin-1; or None."""
    raw = text.rstrip("=")
    raw += "=" * (-len(raw) % 4)
    altchars = b"-_" if ("-" in raw or "_" in raw) else None
    try:
        return base64.b64decode(raw, altchars=altchars, validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return None


def variants(text: str) -> Iterator[str]:
    """``text`` as it is, percent-decoded (twice at most), and its long base64 runs decoded."""
    yield text
    seen = {text}
    decoded = text
    for _ in range(2):
        if "%" not in decoded and "+" not in decoded:
            break
        decoded = unquote_plus(decoded, encoding="latin-1")
        if decoded in seen:
            break
        seen.add(decoded)
        yield decoded
    for source in seen:
        for match in B64_RUN.finditer(source):
            plain = b64decode_loose(match.group())
            if plain is not None:
                yield plain
                if "%" in plain:
                    yield unquote(plain, encoding="latin-1")


def keys_in_texts(texts: Iterator[str] | list[str], *, limit: int = MAX_KEYS) -> list[str]:
    """Distinct well-formed keys in ``texts`` (every variant of each), at most ``limit``."""
    found: dict[str, None] = {}
    for text in texts:
        for variant in variants(text):
            for key in find_keys(variant, limit=limit - len(found)):
                found[key] = None
            if len(found) >= limit:
                return list(found)
    return list(found)


def request_texts(environ: Mapping[str, object], body: bytes) -> list[str]:
    """The texts of a WSGI request a key could hide in: header names and values, the request
    target as sent and as decoded, the query string, and the first bytes of the body."""
    texts: list[str] = []
    for name, value in environ.items():
        if name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            texts.append(name)
            texts.append(str(value))
    for name in ("RAW_URI", "REQUEST_URI", "PATH_INFO", "SCRIPT_NAME", "QUERY_STRING"):
        value = environ.get(name)
        if isinstance(value, str) and value:
            texts.append(value)
    if body:
        texts.append(body.decode("latin-1"))
    return texts
