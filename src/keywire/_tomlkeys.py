"""Where each key of a TOML document is: :mod:`tomllib` does not say, error messages need it.

Moved from :mod:`keywire.config` unchanged (its checks name the line of anything wrong).

>>> key_lines('a = 1\\n[t]\\nb = 2\\n')[("t", "b")]
3
"""

from __future__ import annotations

import re

_BARE = r"[A-Za-z0-9_-]+"
_KEY = rf"(?:{_BARE}|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_INLINE = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")


def _split(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each key of a TOML document is, by its path (array-of-tables entries by index).

    tomllib does not report positions, so this small scanner finds them for error messages. It
    understands table headers, dotted keys, one level of inline tables and skips multi-line
    strings; a key it cannot place falls back to its table's line.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: tuple[str | int, ...] = ()
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER.match(line)
        if header:
            path = _split(header[2])
            if header[1] == "[[":
                index = counters.get(path, -1) + 1
                counters[path] = index
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            key = (*table, *_split(assign[1]))
            lines.setdefault(key, number)
            rest = line[assign.end() :]
            if rest.lstrip().startswith("{"):
                for inner in _INLINE.finditer(rest):
                    lines.setdefault((*key, *_split(inner[1])), number)
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return lines
