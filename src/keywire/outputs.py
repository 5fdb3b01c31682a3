"""Where reports go: planning ``--output`` values, checking them before a scan, writing them safely.

``--output FILE`` writes one report to FILE, in ``--format`` when that was given, else in the
format FILE's extension names (``report.html`` → html, see :data:`EXTENSIONS`), else in the
default format. ``--output FORMAT:FILE`` names the format; an unknown ``FORMAT:`` is an error
(``jsno:x.json`` is a typo, not a file name; a file whose name holds a colon is written
``./name:x``). ``-`` as FILE is stdout.

Every file is checked before anything is scanned: its directory must exist (keywire creates no
directories) and be writable, and the path must not be a directory. A report is written to a
temporary file in the same directory and renamed over the destination: readers never see half a
report, and a symbolic link at the destination is replaced, never written through.

>>> infer_format("out/keywire.sarif.json"), infer_format("report.HTML"), infer_format("notes")
('sarif', 'html', None)
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ._dataclass import dataclass
from ._files import create_private
from .reporters import FORMATS

#: File name endings and the format they mean, longest first.
EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".sarif.json", "sarif"),
    (".ndjson", "jsonl"),
    (".jsonl", "jsonl"),
    (".junit.xml", "junit"),
    (".markdown", "markdown"),
    (".sarif", "sarif"),
    (".json", "json"),
    (".html", "html"),
    (".htm", "html"),
    (".md", "markdown"),
    (".xml", "junit"),
    (".txt", "console"),
    (".log", "console"),
)
STDOUT = "-"
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


class OutputError(ValueError):
    """An ``--output`` that cannot be honoured (a usage error)."""


@dataclass(frozen=True)
class Output:
    """One report to write: its format and where (a path, or ``-`` for stdout)."""

    fmt: str
    path: str  # "-" is stdout


def infer_format(path: str) -> str | None:
    """The format a file name's extension names, or None."""
    name = path.lower()
    return next((fmt for ending, fmt in EXTENSIONS if name.endswith(ending)), None)


def plan_outputs(
    fmt: str,
    values: Sequence[str],
    allowed: Sequence[str] = FORMATS,
    *,
    fmt_given: bool = False,
) -> list[Output]:
    """Where each report goes (see the module docstring); raise :class:`OutputError`.

    ``fmt`` is ``--format``, ``fmt_given`` whether the user chose it (then a plain ``--output
    FILE`` takes it whatever FILE's extension). The ``--format`` report goes to stdout unless a
    plain ``--output FILE`` took it or some output is ``-``; at most one report goes to stdout.
    ``allowed`` are the formats the command writes.
    """
    known = set(FORMATS) | set(allowed)
    outputs = []
    plain = False
    for value in values:
        head, sep, tail = value.partition(":")
        if sep and head in known:
            if head not in allowed:
                raise OutputError(
                    f"--output {value!r}: this command writes {', '.join(allowed)}, not {head}"
                )
            if not tail:
                raise OutputError(
                    f"--output {value!r}: give a file after '{head}:' ('-' for stdout)"
                )
            outputs.append(Output(head, tail))
        elif sep and _PREFIX.fullmatch(head) and len(head) > 1:
            raise OutputError(
                f"--output {value!r}: unknown format {head!r} (formats: {', '.join(allowed)}); "
                f"for a file whose name holds a colon, write ./{value}"
            )
        else:
            plain = True
            chosen = fmt if fmt_given else (infer_format(value) or fmt)
            if chosen not in allowed:
                raise OutputError(
                    f"--output {value!r}: its extension means {chosen}, which this command does "
                    f"not write ({', '.join(allowed)}); name the format, e.g. {allowed[0]}:{value}"
                )
            outputs.append(Output(chosen, value))
    if not plain and not any(o.path == STDOUT for o in outputs):
        outputs.insert(0, Output(fmt, STDOUT))
    if sum(o.path == STDOUT for o in outputs) > 1:
        raise OutputError("only one report can go to stdout ('-')")
    files = [os.path.abspath(o.path) for o in outputs if o.path != STDOUT]
    twice = sorted({f for f in files if files.count(f) > 1})
    if twice:
        raise OutputError(f"--output names {twice[0]!r} more than once")
    return outputs


def check_output(output: Output) -> None:
    """Raise :class:`OutputError` if ``output`` could not be written (checked before scanning)."""
    if output.path == STDOUT:
        return
    path = Path(output.path)
    parent = path.parent
    try:
        info: os.stat_result | None = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        info = None  # the directory is judged below
    except OSError as exc:
        raise OutputError(f"cannot write {output.path!r}: {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write {output.path!r}: it is a directory")
    if not parent.exists():
        raise OutputError(
            f"cannot write {output.path!r}: directory {str(parent)!r} does not exist "
            "(keywire does not create directories)"
        )
    if not parent.is_dir():
        raise OutputError(f"cannot write {output.path!r}: {str(parent)!r} is not a directory")
    if info is not None and stat.S_ISREG(info.st_mode) and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {output.path!r}: the file is read-only")
    try:  # the only sure test of a directory: create (and remove) a file in it
        fd, probe = create_private(parent, ".keywire-", ".probe")
    except OSError as exc:
        raise OutputError(f"cannot write {output.path!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it.

    The rename replaces whatever is at ``path`` (a symbolic link included) and never writes
    through a link. The file gets the mode a new file would get (0666 minus the umask), or the
    mode of the regular file it replaces. Raises OSError.
    """
    with open_atomically(path) as handle:
        handle.write(text)


@contextlib.contextmanager
def open_atomically(path: str) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` when the block ends without an error
    (see :func:`write_atomically`); a report too large to hold is written through it."""
    target = Path(path)
    try:
        info: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        mode = stat.S_IMODE(info.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = create_private(target.parent, f".{target.name}.", ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
