"""Scanning a WSGI app from its own test suite: the work behind the ``keywire_scan`` fixture.

:class:`AppScanner` serves an app (Flask first; any WSGI callable works, through werkzeug's
server) on 127.0.0.1 twice, over HTTPS with a certificate from a throwaway CA and over cleartext
HTTP, on ports the OS chooses; scans it as one target (its cleartext side included); stops both
servers; and returns a :class:`ScanResult`. Nothing leaves the loopback interface.

>>> def test_api_grades_a(keywire_scan):  # doctest: +SKIP
...     result = keywire_scan(create_app(), path="/v1/resource")
...     assert result.grade == "A"
...     result.assert_no_findings(at_or_above="medium")

The pytest plugin (:mod:`keywire.pytest_plugin`) only defines the fixture; this module is
imported the first time a test uses it.
"""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ._dataclass import dataclass
from ._display import visible
from ._models import Finding, ScanReport, Severity
from .scanoptions import ScanOptions

__all__ = ["AppScanner", "Grade", "ScanResult", "assert_no_findings"]

#: Timeouts of a scan from a test: loopback answers at once, so a hang fails fast.
TEST_TIMEOUT = 5.0
TEST_SCAN_TIMEOUT = 60.0


def _severity(value: str | Severity) -> Severity:
    if isinstance(value, Severity):
        return value
    try:
        return Severity(str(value).lower())
    except ValueError:
        names = ", ".join(s.value for s in Severity)
        raise ValueError(f"unknown severity {value!r}; choose from {names}") from None


class Grade(str):
    """A grade (``"A"`` … ``"F"``, ``"?"``) that remembers its scan, so that a failed
    ``assert result.grade == "A"`` can list the findings (the plugin's
    ``pytest_assertrepr_compare``)."""

    result: ScanResult

    def __new__(cls, value: str, result: ScanResult) -> Grade:
        grade = super().__new__(cls, value)
        grade.result = result
        return grade

    def explain(self, expected: object) -> list[str]:
        """The lines pytest shows when ``grade == expected`` fails."""
        result = self.result
        score = f", score {result.points}/100" if result.points is not None else ""
        lines = [f"keywire graded {result.label} {self!s}{score}, not {expected!s}"]
        if result.counted:
            lines += ["findings:", *result.describe().splitlines()]
        if not result.complete:
            lines += ["not tested:", *_untested(result).splitlines()]
        return lines


@dataclass(frozen=True, kw_only=True, repr=False)
class ScanResult(ScanReport):
    """The report of a scan of an app (a :class:`~keywire.ScanReport`, so every reporter takes
    it), with the questions a test asks of it."""

    label: str = "the app"

    @classmethod
    def of(cls, report: ScanReport, label: str = "the app") -> ScanResult:
        fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
        return cls(**fields, label=label)

    @property
    def grade(self) -> Grade:
        """A to F, or ``"?"`` when nothing could be scanned (a ``str``)."""
        score = self.score
        return Grade(score.grade if score is not None and self.scanned_any else "?", self)

    @property
    def points(self) -> int | None:
        """The overall score, 0 to 100 (None when nothing could be scanned)."""
        return self.score.score if self.score is not None and self.scanned_any else None

    @property
    def counted(self) -> tuple[Finding, ...]:
        """The findings that count (suppressed ones do not), worst first."""
        return tuple(sorted(self.active_findings, key=lambda f: (-f.severity.rank, f.rule_id)))

    @property
    def rule_ids(self) -> set[str]:
        """The rule IDs of the findings that count."""
        return {f.rule_id for f in self.counted}

    def at_or_above(self, severity: str | Severity) -> tuple[Finding, ...]:
        """The findings (that count) of ``severity`` or worse."""
        floor = _severity(severity)
        return tuple(f for f in self.counted if f.severity >= floor)

    def assert_no_findings(
        self, at_or_above: str | Severity = "low", *, allow_incomplete: bool = False
    ) -> None:
        """Fail, listing the findings readably, if any is at or above ``at_or_above``; also
        fail if the scan is incomplete (an untested check is not a pass) unless allowed."""
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        assert_no_findings(self, at_or_above=at_or_above, allow_incomplete=allow_incomplete)

    def describe(self, findings: Sequence[Finding] | None = None) -> str:
        """The findings (those that count, or those given) as lines a person reads in a test
        failure."""
        from .rules import RULES

        shown = self.counted if findings is None else findings
        lines = []
        for finding in shown:
            rule = RULES.get(finding.rule_id)
            title = rule.title if rule is not None else ""
            lines.append(f"  {finding.rule_id} [{finding.severity.value}] {title}".rstrip())
            lines.append(f"      {visible(finding.message)}")
            if rule is not None and rule.remediation:
                fix = textwrap.shorten(rule.remediation, width=160, placeholder=" …")
                lines.append(f"      fix: {fix}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        counted = self.counted
        listed = ", ".join(f"{f.rule_id} {f.severity.value}" for f in counted[:12])
        more = f", … {len(counted) - 12} more" if len(counted) > 12 else ""
        return f"<keywire scan of {self.label}: grade {self.grade}, findings [{listed}{more}]>"


def assert_no_findings(
    result: ScanResult | ScanReport,
    at_or_above: str | Severity = "low",
    *,
    allow_incomplete: bool = False,
) -> None:
    """Raise ``AssertionError`` listing every finding at or above ``at_or_above`` (and the
    checks that did not run, unless ``allow_incomplete``)."""
    __tracebackhide__ = True
    if not isinstance(result, ScanResult):
        result = ScanResult.of(result)
    floor = _severity(at_or_above)
    failing = result.at_or_above(floor)
    problems = []
    if failing:
        score = f", score {result.points}/100" if result.points is not None else ""
        problems.append(
            f"keywire found {len(failing)} finding(s) at or above {floor.value} in "
            f"{result.label} (grade {result.grade}{score}):\n{result.describe(failing)}"
        )
    if not allow_incomplete and not result.complete:
        problems.append(f"keywire could not finish scanning {result.label}:\n{_untested(result)}")
    if problems:
        raise AssertionError("\n".join(problems))


def _untested(result: ScanResult) -> str:
    lines = []
    for target in result.targets:
        if not target.scanned:
            lines.append(f"  not scanned: {visible(target.error)}")
    for outcome in result.outcomes:
        if outcome.status.value == "error":
            lines.append(f"  {outcome.check} not tested: {visible(outcome.reason)}")
    return "\n".join(lines)


class AppScanner:
    """Serves apps on loopback (HTTPS with a throwaway CA, plus cleartext) and scans them.

    One CA per scanner (made on first use), removed by :meth:`close`; every server stops when
    its scan ends, failed or not.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._directory = Path(directory) if directory is not None else None
        self._pki: Any = None
        self._owned: Path | None = None

    def _ca(self) -> Any:
        from .lab.certs import make_lab_pki

        if self._pki is None:
            if self._directory is not None:
                self._directory.mkdir(parents=True, exist_ok=True)
                self._pki = make_lab_pki(str(self._directory))
            else:
                self._pki = make_lab_pki()
                self._owned = self._pki.directory
        return self._pki

    def scan(
        self,
        app: Any,
        path: str = "/",
        *,
        headers: dict[str, str] | None = None,
        label: str | None = None,
        **options: Any,
    ) -> ScanResult:
        """Serve ``app`` (a WSGI callable) on 127.0.0.1 over HTTPS and HTTP, scan ``path``,
        stop the servers. ``headers`` are credentials (sent over verified HTTPS only);
        ``options`` are :class:`~keywire.ScanOptions` fields (``only``, ``skip``, ``timeout``…).
        """
        try:
            from .lab.server import LabServer
        except ImportError as exc:  # pragma: no cover - werkzeug comes with Flask
            raise RuntimeError("keywire_scan serves apps with werkzeug: pip install flask") from exc
        from ._scanner import scan
        from .targets import parse_target

        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        pki = self._ca()
        settings: dict[str, Any] = {
            "timeout": TEST_TIMEOUT,
            "scan_timeout": TEST_SCAN_TIMEOUT,
            **options,
            "ca_file": str(pki.ca_file),
            "headers": dict(headers or {}),
        }
        scan_options = ScanOptions(**settings)
        with ExitStack() as servers:
            https = servers.enter_context(LabServer(app, ssl_context=pki.server_context()))
            http = servers.enter_context(LabServer(app))
            target = parse_target(https.url + path, http_port=http.port)
            report = scan([target], options=scan_options)
        return ScanResult.of(report, label=label or _name(app))

    def close(self) -> None:
        if self._owned is not None:
            shutil.rmtree(self._owned, ignore_errors=True)
            self._owned = None
        self._pki = None


def _name(app: Any) -> str:
    name = getattr(app, "name", None) or getattr(app, "__name__", None)
    return f"app {name!r}" if isinstance(name, str) else "the app"
