"""Regular expressions compiled on first use.

Compiling is most of what importing a table of expressions costs (the secret catalogue has
dozens, and a scan usually runs few of them: the scanner runs an entry's expression only where
its literal occurs). A :class:`LazyPattern` keeps the source and compiles it the first time it
is used.

>>> digits = LazyPattern(r"\\d+")
>>> digits.compiled_yet
False
>>> digits.search("abc 123").group()
'123'
>>> digits.compiled_yet
True
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator


class LazyPattern:
    """A ``re.Pattern[str]`` stand-in (``match``, ``search``, ``finditer``, ``fullmatch``, ``sub``)."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    @property
    def compiled_yet(self) -> bool:
        return self._compiled is not None

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(string, pos, endpos)

    def fullmatch(
        self, string: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> re.Match[str] | None:
        return self.compiled.fullmatch(string, pos, endpos)

    def finditer(
        self, string: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(string, pos, endpos)

    def sub(self, repl: str, string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r})"
