"""``keywire scan`` as a fleet run: targets from the command line, files and the configuration;
progress on stderr; the JSONL stream live; every other report assembled from it at the end.

The run itself is the library's (:func:`keywire.fleet.run_fleet`); this module gathers what the
command line says, shows progress, and delivers the reports.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .. import _tasks
from .._display import visible
from .._models import Policy, ScanReport, TargetResult
from ..fleet import FleetRequest, FleetResult, Meter, ResumeState, read_resume, run_fleet
from ..fleet._records import result_from_record
from ..fleet.assemble import STREAMED, write_streamed
from ..gate import evaluate_totals
from ..outputs import STDOUT, Output, OutputError, check_output, open_atomically
from ..scanoptions import ScanOptions
from ..targets import TargetError, parse_target
from ..targetsfile import TargetsFileError, parse_targets, read_targets
from ._exit import EXIT_OK, fail_usage, stdout_lost
from ._messages import color_wanted, info
from ._options import Settings
from ._report import Label, deliver, gate_exit, render_for

if TYPE_CHECKING:
    from ..history.snapshot import Snapshot
    from ..store import Store


def gather_targets(
    arguments: Sequence[str], inputs: Sequence[str], settings: Settings, *, quiet: bool
) -> list[str]:
    """The URLs to scan: the arguments (a bad one is a usage error), then every ``-i`` file's
    (a bad line is reported with its number and skipped), else the configuration's
    ``targets``; each once, in the order first seen."""
    urls: dict[str, None] = {}
    for argument in arguments:
        try:
            urls.setdefault(parse_target(argument).url)
        except TargetError as exc:
            fail_usage(str(exc))
    for path in inputs:
        try:
            parsed = read_targets(path)
        except TargetsFileError as exc:
            fail_usage(str(exc))
        _say_problems(parsed.problems())
        for url in parsed.targets:
            urls.setdefault(url)
        if parsed.duplicates and not quiet:
            info(
                f"keywire: {visible(parsed.source)}: {parsed.duplicates} duplicate(s) scanned once"
            )
    config = settings.config
    if not arguments and not inputs and config is not None and config.targets:
        source = config.path.name if config.path is not None else "configuration"
        parsed = parse_targets("\n".join(config.targets), source=f"{source}: targets")
        _say_problems(parsed.problems())
        urls.update(dict.fromkeys(parsed.targets))
    return list(urls)


def _say_problems(problems: Sequence[str]) -> None:
    for problem in problems:
        click.echo(f"keywire: warning: {problem}", err=True)


class Progress:
    """Progress on stderr: one live line on a terminal, a line every ``every`` seconds in a CI
    log (the first after ``every`` seconds: a short scan prints none)."""

    def __init__(self, *, every: float, terminal: bool) -> None:
        self._every = every
        self._terminal = terminal
        self._meter: Meter | None = None
        self._last = time.monotonic()
        self._printed = False

    def started(self, meter: Meter) -> None:
        self._meter = meter
        self._last = time.monotonic()

    def finished(self, result: TargetResult) -> None:
        if self._terminal:
            self.tick()

    def tick(self) -> None:
        if self._meter is None:
            return
        now = time.monotonic()
        if self._terminal:
            if now - self._last >= 0.2:
                self._last = now
                click.echo(f"\r\x1b[Kkeywire: {self._meter.line()}", nl=False, err=True)
                self._printed = True
        elif now - self._last >= self._every:
            self._last = now
            click.echo(f"keywire: {self._meter.line()}", err=True)
            self._printed = True

    def ended(self) -> None:
        if self._meter is None or not self._printed:
            return
        if self._terminal:
            click.echo("\r\x1b[K", nl=False, err=True)
        else:
            click.echo(f"keywire: {self._meter.line()}", err=True)


def run_scan(
    targets: Sequence[str],
    options: ScanOptions,
    settings: Settings,
    *,
    labels: Any = None,
    history: Store | None = None,
) -> NoReturn:
    """Scan, record the scan in ``history`` (the store), deliver every report, say what the user
    must know, exit with the gate's code."""
    values = settings.values
    resume: ResumeState | None = None
    if values.get("resume"):
        try:
            resume = read_resume(values["resume"])
        except OSError as exc:
            fail_usage(f"--resume: cannot read {values['resume']!r}: {exc.strerror or exc}")
        _say_problems(resume.problems)
    spool_path, pending = _plan_streams(settings.outputs, values.get("resume"))
    live = [sys.stdout] if any(o.fmt == "jsonl" and o.path == STDOUT for o in pending) else []
    quiet = bool(values.get("quiet"))
    observer = None
    if not quiet:
        observer = Progress(every=values["progress_every"], terminal=sys.stderr.isatty())
    policy = settings.config.policy if settings.config is not None else None
    started_at = datetime.now(timezone.utc)
    request = FleetRequest(
        targets=targets,
        options=options,
        started_at=started_at,
        annotate=_time_rules(history, policy, started_at) if history is not None else None,
        policy=policy,
        baseline=settings.baseline,
        gate=settings.gate,
        workers=values.get("workers"),
        resume=resume,
        spool_path=spool_path,
        live=live,
        observer=observer,
        verbose=values.get("verbose") or 0,
        broker=values.get("broker"),
    )
    with history if history is not None else contextlib.nullcontext():
        try:
            result = _tasks.run(run_fleet(request))
            if options.save_observations is not None:
                info(f"keywire: observations written to {options.save_observations}")
        except BrokenPipeError:
            stdout_lost()
            fail_usage("cannot write the report to stdout: the pipe was closed")
        try:
            if history is not None:
                _record(history, result, verbose=bool(values.get("verbose")))
            remaining = [o for o in pending if not (o.fmt == "jsonl" and o.path == STDOUT)]
            _deliver(result, remaining, settings, labels)
        finally:
            result.spool.discard()
    _close(result)


def _time_rules(
    store: Store, policy: Policy | None, started_at: datetime
) -> Callable[[TargetResult], TargetResult]:
    """Each result with the findings only time can show (against the target's previous result
    in the store), as ``keywire scan`` records them (:mod:`keywire.history.record`)."""
    from ..history.record import annotate_result

    def annotate(result: TargetResult) -> TargetResult:
        with store.transaction() as tx:
            previous = tx.latest(result.target, evidence=False)
        return annotate_result(
            result,
            previous,
            scanned_at=datetime.now(timezone.utc),
            started_at=started_at,
            policy=policy,
        )

    return annotate


#: Targets recorded per store transaction: a commit each costs more than the writing, and
#: other writers wait a few milliseconds at most.
_RECORD_BATCH = 100


def _record(store: Store, result: FleetResult, *, verbose: bool) -> None:
    """Record the run in the store, a batch of targets at a time from the spool (as
    :func:`keywire.store.record_report` records a report in memory)."""
    from ..history.snapshot import snapshot_of
    from ..store import StoreError

    envelope = result.envelope
    finished = datetime.now(timezone.utc)
    try:
        with store.transaction(write=True) as tx:
            scan_id = tx.begin_scan(
                started_at=envelope.started_at,
                tool_version=envelope.tool_version,
                source="scan",
                options=envelope.options,
            )
        batch: list[Snapshot] = []
        for record in result.spool.records(result.position):
            batch.append(snapshot_of(result_from_record(record), scanned_at=finished))
            if len(batch) >= _RECORD_BATCH:
                _record_batch(store, scan_id, batch)
                batch = []
        _record_batch(store, scan_id, batch)
        with store.transaction(write=True) as tx:
            tx.finish_scan(scan_id, finished_at=finished)
    except StoreError as exc:
        fail_usage(f"{exc}; the report was not written")
    if verbose:
        info(f"keywire: scan {scan_id} recorded in {store.path}")


def _record_batch(store: Store, scan_id: int, batch: Sequence[Snapshot]) -> None:
    if batch:
        with store.transaction(write=True) as tx:
            for snapshot in batch:
                tx.record(scan_id, snapshot)


def _plan_streams(outputs: Sequence[Output], resume: str | None) -> tuple[str | None, list[Output]]:
    """Where the stream is spooled, and the outputs still to write at the end: the resume file
    is the spool, else the first JSONL file output is (written live)."""
    pending = list(outputs)
    if resume is not None:
        for output in pending:
            if output.fmt != "jsonl" and _same(output.path, resume):
                fail_usage(
                    f"--output {output.fmt}:{output.path} would replace the --resume stream; "
                    "write that report to another file"
                )
        try:
            check_output(Output("jsonl", resume))
        except OutputError as exc:
            fail_usage(f"--resume: {exc}")
        same = [o for o in pending if o.fmt == "jsonl" and _same(o.path, resume)]
        return resume, [o for o in pending if o not in same]
    for output in pending:
        if output.fmt == "jsonl" and output.path != STDOUT:
            return output.path, [o for o in pending if o is not output]
    return None, pending


def _same(a: str, b: str) -> bool:
    return a != STDOUT and os.path.abspath(a) == os.path.abspath(b)


def _deliver(
    result: FleetResult, outputs: Sequence[Output], settings: Settings, labels: Any
) -> None:
    report: ScanReport | None = None
    for output in outputs:
        if output.fmt in STREAMED:
            if output.path == STDOUT:
                write_streamed(result, output.fmt, sys.stdout)
                sys.stdout.flush()
                continue
            try:
                with open_atomically(output.path) as handle:
                    write_streamed(result, output.fmt, handle)
            except OSError as exc:
                fail_usage(f"cannot write {output.path!r}: {exc.strerror or exc}")
            info(f"keywire: {output.fmt} report written to {output.path}")
            continue
        if report is None:
            report = result.report()
        chosen: Mapping[str, Label] = labels(report) if callable(labels) else {}
        to_terminal = output.path == STDOUT and sys.stdout.isatty()
        text = render_for(
            report,
            output.fmt,
            to_terminal=to_terminal,
            labels=chosen,
            framework=settings.values.get("framework"),
        )
        deliver(output, text, color=output.fmt == "console" and color_wanted(to_terminal))


def _close(result: FleetResult) -> NoReturn:
    totals = result.totals
    for target, error in result.failures:
        click.echo(f"keywire: {visible(f'{target}: not scanned: {error}')}", err=True)
    unscanned = totals.targets - totals.scanned
    if unscanned > len(result.failures):
        more = unscanned - len(result.failures)
        click.echo(
            f"keywire: … and {more} more target(s) not scanned (the report lists them)", err=True
        )
    for notice in result.envelope.notices:
        click.echo(f"keywire: warning: {visible(notice)}", err=True)
    verdict = evaluate_totals(totals, result.envelope.score)
    code, message = gate_exit(verdict, scanned_any=totals.scanned_any)
    if code == EXIT_OK:
        info(f"keywire: {message}")
    else:  # why it failed is kept under -q: the exit code alone does not say
        click.echo(f"keywire: {message}", err=True)
    sys.exit(code)
