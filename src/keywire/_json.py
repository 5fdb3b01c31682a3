"""JSON that came from a target (or any file keywire did not write), parsed with bounded nesting.

``json.loads`` recurses once per nesting level, so ``[[[[…]]]]`` a few thousand levels deep raises
``RecursionError``: an exception no caller expects from a parser, which once took a whole check
family (and the findings it had already made) down with it. :func:`loads` measures the nesting
first, in one linear pass outside strings, and refuses anything deeper than ``max_depth`` with
:class:`JsonTooDeep`, a ``ValueError`` like every other malformed-JSON error, so callers handle
it where they already handle bad JSON.

Every ``json.loads`` on data from a target goes through here (``tests/test_bounded_json.py``
keeps it that way).

>>> loads('{"a": [1, 2]}')
{'a': [1, 2]}
>>> loads("[" * 5000 + "]" * 5000)
Traceback (most recent call last):
...
keywire._json.JsonTooDeep: JSON nested deeper than 128 levels
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

#: Deep enough for any real API answer (they rarely pass 20), far below the recursion limit.
MAX_DEPTH = 128

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STRING_B = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET_B = re.compile(rb"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}
_DELTA_B = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonTooDeep(ValueError):
    """The document nests deeper than the parser accepts."""


def nesting_depth(data: str | bytes) -> int:
    """The deepest bracket nesting of ``data`` outside JSON strings (linear time, no recursion).

    Brackets inside an unterminated string are counted: such a document is not JSON anyway.
    """
    if isinstance(data, bytes | bytearray):
        brackets_b = _NOT_BRACKET_B.sub(b"", _STRING_B.sub(b"", bytes(data)))
        return max(accumulate(map(_DELTA_B.__getitem__, brackets_b)), default=0)
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", data))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def check_depth(data: str | bytes, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` when ``data`` nests deeper than ``max_depth``."""
    if isinstance(data, bytes | bytearray):
        opening = data.count(b"[") + data.count(b"{")
    else:
        opening = data.count("[") + data.count("{")
    if opening <= max_depth:
        return  # cannot nest deeper than it has brackets: the common case costs two counts
    if nesting_depth(data) > max_depth:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """``json.loads`` for untrusted input: every failure is a ``ValueError``.

    Raises :class:`JsonTooDeep` past ``max_depth`` levels, ``json.JSONDecodeError`` for
    malformed JSON and ``UnicodeDecodeError`` for bytes that are not text (both ValueErrors).
    """
    check_depth(data, max_depth)
    try:
        return json.loads(data)
    except RecursionError:  # only if the caller's own stack was already deep
        raise JsonTooDeep(f"JSON nested too deep to parse here (limit {max_depth})") from None
