"""The spool: the JSONL stream of a run, which every report is assembled from.

Results are never all held in memory. Each finished target's record goes to the spool (the
``--format jsonl`` file when there is one, the ``--resume`` file when resuming, else memory up
to :data:`SPILL_BYTES` and a temporary file past it) the moment it is finished, and only its
offset is kept, by target. At the end reports are
assembled by reading the records back one at a time, in plan order.

``--resume FILE`` reads an earlier run's stream first (:func:`read_resume`): its target records
are kept, anything after the last of them (a summary, a line cut short by a crash) is cut off,
and the new records are appended.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import field
from pathlib import Path
from typing import IO, Any

from .._dataclass import dataclass
from .._display import visible
from ._records import RecordError, parse_line

#: The reason given for a target whose worker process was lost: ``--resume`` scans it again.
WORKER_LOST = "not scanned: the keywire worker process scanning it"


@dataclass
class ResumeState:
    """What an earlier run's stream holds: the latest record's offset by target, which targets
    need no new scan, where the kept part ends, and the lines that were not records."""

    offsets: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    keep: int = 0
    problems: list[str] = field(default_factory=list)


def read_resume(path: str) -> ResumeState:
    """Read the stream at ``path`` (a missing file is an empty stream). Raises OSError."""
    state = ResumeState()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return state
    with handle:
        offset = 0
        number = 0
        for raw in handle:
            number += 1
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                state.problems.append(f"{path}:{number}: cut short (a crash?); dropped")
                break
            try:
                record = parse_line(raw)
            except RecordError as exc:
                state.problems.append(visible(f"{path}:{number}: {exc}; ignored"))
                continue
            if record["record"] != "target" or not isinstance(record.get("target"), str):
                continue
            url = record["target"]
            state.offsets[url] = start
            error = record.get("error")
            if isinstance(error, str) and error.startswith(WORKER_LOST):
                state.done.discard(url)
            else:
                state.done.add(url)
            state.keep = offset
    return state


#: A run without a stream file keeps its records in memory up to this size, then spills them to
#: a temporary file: a small run touches no disk, a fleet's memory stays bounded.
SPILL_BYTES = 4 * 1024 * 1024


class Spool:
    """The run's JSONL stream (see the module docstring)."""

    def __init__(
        self, path: str | None, *, resume: ResumeState | None = None, spill_bytes: int = SPILL_BYTES
    ) -> None:
        self.temporary = path is None
        self.path = path  # None while a temporary stream is still in memory
        self.spill_bytes = spill_bytes
        self.offsets: dict[str, int] = dict(resume.offsets) if resume else {}
        self._out: IO[bytes]
        if path is None:
            self._out = io.BytesIO()
        elif resume is not None:
            with open(path, "ab") as handle:
                handle.truncate(resume.keep)
            self._out = open(path, "ab")  # noqa: SIM115 - closed by close()
        else:
            self._out = open(path, "wb")  # noqa: SIM115 - closed by close()
        self._end = self._out.tell()

    def write(self, line: str, target: str | None) -> None:
        """Append one record line (``target``: whose record it is; None for the summary)."""
        data = line.encode("utf-8")
        if target is not None:
            self.offsets[target] = self._end
        self._out.write(data)
        self._out.flush()
        self._end += len(data)
        if self.path is None and self._end > self.spill_bytes:
            self._spill()

    def _spill(self) -> None:
        """Move the records held in memory to a temporary file, and write there from now on."""
        import tempfile  # (a run that never spills never loads it)

        assert isinstance(self._out, io.BytesIO)
        fd, path = tempfile.mkstemp(prefix="keywire-", suffix=".jsonl")
        spilled = os.fdopen(fd, "wb")
        try:
            spilled.write(self._out.getvalue())
            spilled.flush()
        except BaseException:
            spilled.close()
            Path(path).unlink(missing_ok=True)
            raise
        self._out.close()
        self._out, self.path = spilled, path

    def records(self, order: Callable[[str], Any] | None = None) -> Iterator[dict[str, Any]]:
        """The latest record of every target, in ``order`` (a sort key on the target URL)."""
        targets = sorted(self.offsets, key=order) if order is not None else list(self.offsets)
        handle: IO[bytes]
        if self.path is None:
            assert isinstance(self._out, io.BytesIO)
            handle = io.BytesIO(self._out.getvalue())
        else:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        with handle:
            for target in targets:
                handle.seek(self.offsets[target])
                yield parse_line(handle.readline())

    def close(self) -> None:
        self._out.close()

    def discard(self) -> None:
        """Close, and remove the file if it was a temporary one."""
        self.close()
        if self.temporary and self.path is not None:
            Path(self.path).unlink(missing_ok=True)
