"""Reports assembled from a fleet run's spool, at the end.

- ``json``: streamed, one target at a time; the document is byte for byte what
  :func:`keywire.reporters.json.render` gives for the same report in memory (a test holds the
  two together), and memory does not grow with the number of targets;
- ``jsonl``: the records in plan order, then the summary (the live stream is in the order
  targets ended);
- the other formats (console, SARIF, HTML, Markdown, JUnit) are documents for people and tools
  that read them whole: the report is loaded from the spool and rendered as usual.

>>> import io
>>> reindent('{\\n  "a": 1\\n}')
'    {\\n      "a": 1\\n    }'
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable
from json.encoder import encode_basestring as _quote
from typing import IO, TYPE_CHECKING, Any

from .._display import json_inert
from ..reporters.json import head_dict
from ..reporters.jsonl import line, summary_record

if TYPE_CHECKING:
    from ._run import FleetResult

#: The formats written without loading the whole report.
STREAMED = ("json", "jsonl")


def reindent(text: str) -> str:
    """A document from ``json.dumps(..., indent=2)`` as an item of a top-level list."""
    return "    " + text.replace("\n", "\n    ")


def indented(value: object) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, about twice as fast
    for what ``json.loads`` gives (dicts with string keys, lists, strings, numbers, booleans,
    None): the standard library indents through a generator per nesting level, in Python.

    >>> indented({"a": [1, 2.5, None], "b": {}, "c": "é"})
    '{\\n  "a": [\\n    1,\\n    2.5,\\n    null\\n  ],\\n  "b": {},\\n  "c": "é"\\n}'
    """
    parts: list[str] = []
    try:
        _indent(value, "\n", parts.append)
    except _NotPlain:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(parts)


class _NotPlain(Exception):
    """A value :func:`indented` leaves to ``json.dumps``."""


def _indent(value: Any, newline: str, add: Callable[[str], object]) -> None:
    kind = type(value)
    if kind is str:
        add(_quote(value))
    elif kind is dict:
        if not value:
            add("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            add(separator)
            add(_quote(key))
            add(": ")
            _indent(item, inner, add)
            separator = "," + inner
        add(newline + "}")
    elif kind is list:
        if not value:
            add("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            add(separator)
            _indent(item, inner, add)
            separator = "," + inner
        add(newline + "]")
    elif value is None:
        add("null")
    elif value is True:
        add("true")
    elif value is False:
        add("false")
    elif kind is int:
        add(int.__repr__(value))
    elif kind is float and math.isfinite(value):
        add(float.__repr__(value))
    else:
        raise _NotPlain


def write_json(result: FleetResult, write: Callable[[str], object]) -> None:
    """The JSON report of ``result``, written piece by piece."""
    head = head_dict(result.envelope, result.totals)
    marker = f"keywire-targets-{secrets.token_hex(8)}"
    head["targets"] = marker
    text = json.dumps(head, indent=2, ensure_ascii=False)
    before, _, after = text.partition(json.dumps(marker))
    write(json_inert(before))
    first = True
    for record in result.spool.records(result.position):
        del record["schema_version"], record["record"]
        item = indented(record)
        write(("[\n" if first else ",\n") + json_inert(reindent(item)))
        first = False
    write("[]" if first else "\n  ]")
    write(json_inert(after) + "\n")


def write_jsonl(result: FleetResult, write: Callable[[str], object]) -> None:
    """The stream of ``result`` in plan order, closed by its summary record."""
    for record in result.spool.records(result.position):
        write(line(record))
    write(line(summary_record(result.envelope, result.totals)))


def write_streamed(result: FleetResult, fmt: str, handle: IO[str]) -> None:
    """``fmt`` (one of :data:`STREAMED`) to ``handle``."""
    (write_json if fmt == "json" else write_jsonl)(result, handle.write)
