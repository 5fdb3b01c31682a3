"""Text that came from a target, made visible where it is shown.

A hostile server chooses the bytes of its headers, bodies, cookies, tokens and ``Location``; they
reach keywire's reports as URLs, messages and evidence. Shown raw, a newline forges a report line
(``keywire: gate passed``), an ESC sequence clears the screen or opens an OSC that swallows what
follows, a bidi override reorders a line, a lone surrogate makes the output unencodable. Every
reporter passes such text through :func:`visible` at the rendering boundary: control and format
characters become escapes a reader can see, in the style of Python's ``repr``.

>>> visible("ok\\nkeywire: gate passed\\x1b[2J")
'ok\\\\nkeywire: gate passed\\\\x1b[2J'

What is escaped: Unicode categories Cc (C0, DEL, C1 controls), Cf (format characters: bidi
controls, zero-width characters, tag characters), Zl and Zp (line and paragraph separators) and
Cs (lone surrogates, which ``surrogateescape`` decoding produces). A backslash is left alone: the
goal is that nothing from the target acts on the reader's terminal or page, not that the text can
be decoded back.

:func:`json_inert` applies the same idea to JSON documents, whose strings keep the exact data.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Everything outside printable ASCII is a candidate; only the unsafe categories are escaped, so
# plain ASCII text costs one regex scan.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")
_CANDIDATE_NO_NEWLINE = re.compile(r"[^\x20-\x7e\n]")


def is_unsafe(char: str) -> bool:
    """True for a character :func:`visible` escapes."""
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _replace(match: re.Match[str]) -> str:
    char = match.group(0)
    return _escape(char) if is_unsafe(char) else char


def visible(text: str) -> str:
    """``text`` on one line, every control or format character shown as an escape.

    >>> visible("max-age=5\\x1b]0;title\\x07 \\u202egnp.exe")
    'max-age=5\\\\x1b]0;title\\\\x07 \\\\u202egnp.exe'
    """
    return _CANDIDATE.sub(_replace, text)


def visible_block(text: str) -> str:
    """Like :func:`visible`, but line breaks (``\\n``) stay: for multi-line text keywire laid out
    itself (code, indented JSON) that may hold target text inside."""
    return _CANDIDATE_NO_NEWLINE.sub(_replace, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if not is_unsafe(char):
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_inert(document: str) -> str:
    """A JSON document (from ``json.dumps(..., ensure_ascii=False)``) with every character
    :func:`visible` would escape written as a ``\\uXXXX`` escape.

    ``json.dumps`` already escapes C0 controls; DEL, C1 controls, bidi and other format characters
    and lone surrogates it writes raw. Those only occur inside strings, so escaping them keeps the
    document valid and its data identical, while ``cat report.json`` stays inert and the file stays
    encodable as UTF-8.

    >>> json_inert('{"a": "x\\u202ey"}')
    '{"a": "x\\\\u202ey"}'
    """
    # json.dumps escapes controls inside strings; a raw newline is its own indentation.
    return _CANDIDATE_NO_NEWLINE.sub(_json_escape, document)
