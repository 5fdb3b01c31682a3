"""Targets files: one URL per line, for ``-i FILE`` (``-i -`` reads stdin).

Blank lines and lines starting with ``#`` are ignored, and so is anything after `` #`` (a space
or tab, then ``#``) on a URL's line. Every other line must be a target URL
(:func:`keywire.parse_target`); a line that is not is reported with its number and skipped,
never aborting the run. A URL given twice is kept once, in the order first seen (the same URL
spelt differently, ``HTTPS://API.example:443/`` and ``https://api.example/``, is the same target).

>>> parsed = parse_targets("# fleet\\nhttps://a.example/v1\\n\\nftp://b.example/\\nhttps://a.example:443/v1\\n")
>>> parsed.targets
('https://a.example/v1',)
>>> [(bad.line, bad.reason) for bad in parsed.bad]
[(4, "'ftp://b.example/': unsupported scheme 'ftp' (use http or https)")]

The reasons are :class:`~keywire.TargetError` messages, which never quote a credential (a URL's
userinfo or credential query parameter is redacted). Shared by every command that reads targets
from a file.
"""

from __future__ import annotations

import re
import sys
from typing import BinaryIO

from ._dataclass import dataclass
from ._display import visible
from .targets import TargetError, parse_target

#: A targets file larger than this is refused (a fleet of 1,000,000 URLs fits comfortably).
MAX_FILE_BYTES = 256 * 1024 * 1024
#: A line longer than this is not a URL anyone meant.
MAX_LINE_CHARS = 8192

_COMMENT = re.compile(r"[ \t]#")


class TargetsFileError(ValueError):
    """The targets file cannot be read at all (a usage error); bad lines are not errors."""


@dataclass(frozen=True, kw_only=True)
class BadLine:
    """A line that is not a target, with why (never quoting a credential)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class TargetsFile:
    """What a targets file holds: its targets (normalised, each once) and its bad lines."""

    source: str
    targets: tuple[str, ...]
    bad: tuple[BadLine, ...] = ()
    duplicates: int = 0

    def problems(self) -> list[str]:
        """One line per bad line, ``SOURCE:LINE: reason``, ready for stderr."""
        return [visible(f"{self.source}:{bad.line}: {bad.reason}; skipped") for bad in self.bad]


def parse_targets(text: str, *, source: str = "<targets>") -> TargetsFile:
    """The targets of ``text`` (a targets file's content); see the module documentation."""
    targets: dict[str, None] = {}
    bad: list[BadLine] = []
    duplicates = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip("\ufeff") if number == 1 else raw
        comment = _COMMENT.search(line)
        if comment is not None:
            line = line[: comment.start()]
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE_CHARS:
            bad.append(BadLine(line=number, reason=f"longer than {MAX_LINE_CHARS} characters"))
            continue
        try:
            url = parse_target(line).url
        except TargetError as exc:
            bad.append(BadLine(line=number, reason=str(exc)))
            continue
        if url in targets:
            duplicates += 1
        targets.setdefault(url, None)
    return TargetsFile(source=source, targets=tuple(targets), bad=tuple(bad), duplicates=duplicates)


def read_targets(path: str, *, stdin: BinaryIO | None = None) -> TargetsFile:
    """Read and parse the targets file at ``path`` (``-``: standard input).

    Raises :class:`TargetsFileError` when the file cannot be read, is too large or is not text.
    """
    source = "stdin" if path == "-" else path
    try:
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            data = stream.read(MAX_FILE_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise TargetsFileError(
            f"cannot read targets file {source!r}: {exc.strerror or exc}"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise TargetsFileError(
            f"targets file {source!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"
        )
    if b"\x00" in data:
        raise TargetsFileError(f"targets file {source!r} is not text (it holds NUL bytes)")
    return parse_targets(data.decode("utf-8", "replace"), source=source)
