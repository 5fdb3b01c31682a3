"""The ``keywire`` command line.

stdout carries the report and nothing else; progress and messages go to stderr. Exit codes
(:data:`EXIT_CODES`): 0 the gate passed on a complete scan, 1 findings or the score failed the gate,
2 usage or configuration error, 3 nothing could be scanned or the scan is incomplete (unless
``--allow-incomplete``), 130 interrupted (Ctrl-C).

Options come from the command line, else from the configuration file (``keywire.toml`` or
``[tool.keywire]``, see :mod:`keywire.config`), else from the built-in defaults. Reports go to
stdout in ``--format``, and to files with ``--output FILE`` (in ``--format`` if given, else as
FILE's extension says) or ``--output FORMAT:FILE`` (repeatable, any format; ``-`` as FILE means
stdout); see :mod:`keywire.outputs`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import ssl
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from . import __version__
from . import outputs as outputs_module
from ._display import visible
from ._models import Gate, ScanReport, Severity, TargetResult
from ._scanner import ScanOptions, scan
from .baseline import Baseline, BaselineError, compare_baseline, load_baseline
from .checks import FAMILIES, GROUPS
from .compliance import FRAMEWORKS as COMPLIANCE_FRAMEWORKS
from .compliance import mappings_for
from .config import Config, ConfigError, discover, load_config
from .gate import evaluate
from .outputs import Output
from .policy import apply_policy
from .reporters import FORMATS
from .rules import RULES, get_rule
from .targets import TargetError
from .tokens.report import FORMATS as TOKEN_FORMATS

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_NOTHING_SCANNED = 0, 1, 2, 3
EXIT_INCOMPLETE = EXIT_NOTHING_SCANNED  # a half-dead API fails CI like a dead one
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_CODES_HELP = f"""\b
Exit codes:
  {EXIT_OK}    the gate passed and the scan is complete
  {EXIT_GATE}    the gate failed: a finding at or above --fail-on, or a score
       under --fail-under (whether or not the scan is complete)
  {EXIT_USAGE}    usage or configuration error (bad URL, unreadable file, ...)
  {EXIT_INCOMPLETE}    nothing could be scanned, or the scan is incomplete (a target
       not scanned, a check not tested) and no finding failed the gate;
       --allow-incomplete judges an incomplete scan on what was tested
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)"""
"""The exit codes of ``keywire scan`` and ``keywire demo`` (``--help`` shows this table)."""
SEVERITY_CHOICES = [s.value for s in Severity] + ["none"]
SELECTABLE = sorted(GROUPS | {f.name for f in FAMILIES})
Label = str | tuple[str, ...]
"""A console label under a target: one line, or several (each made visible by the console)."""


def _fail_usage(message: str) -> NoReturn:
    click.echo(f"keywire: error: {visible(message)}", err=True)
    sys.exit(EXIT_USAGE)


def _parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            _fail_usage("--header takes 'Name: value' (the value is never printed)")
        headers[name] = _checked_header(f"--header {name}", name, content.strip(" \t"))
    return headers


def _checked_header(option: str, name: str, value: str) -> str:
    """``value`` if it can be sent as is; else a usage error that never shows it."""
    from .net.headers import HeaderError, check_credential_header

    try:
        check_credential_header(name, value)
    except HeaderError as exc:
        text, prefix = str(exc), f"header {name}: "
        if text.startswith(prefix):
            _fail_usage(f"{option}: {text.removeprefix(prefix)}")
        _fail_usage(f"{option.split()[0]}: {text}")  # an invalid name is not shown either
    return value


def _parse_header_env(values: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--header-env NAME=VAR``: the header's value is read from environment variable VAR."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, variable = value.partition("=")
        name, variable = name.strip(), variable.strip()
        if not sep or not name or not variable or any(c.isspace() for c in name):
            _fail_usage("--header-env takes NAME=VARIABLE, e.g. --header-env X-API-Key=API_KEY")
        content = environ.get(variable)
        if content is None or not content.strip():
            _fail_usage(
                f"--header-env {name}={variable}: the environment variable {variable} is not set"
            )
        # Only spaces and tabs are trimmed: a line break anywhere is refused, not silently cut.
        value = content.strip(" \t")
        headers[name] = _checked_header(f"--header-env {name}={variable}", name, value)
    return headers


_SKIPPED_SHOWN = 20


def _spec_labels(report: ScanReport) -> dict[str, Label]:
    """Console labels for a spec-driven scan: the operation each endpoint comes from, and which
    operations were skipped and why."""
    labels: dict[str, Label] = {}
    for target in report.targets:
        detail = target.details.get("openapi")
        if isinstance(detail, Mapping) and isinstance(detail.get("operation"), str):
            labels[target.target] = f"{detail['operation']} (from the spec)"
        elif isinstance(detail, Mapping) and "endpoints" in detail:
            probed = len(detail["endpoints"])
            total = detail.get("skipped_total", 0)
            lines = [
                f"API description: {probed} endpoint(s) probed, {total} operation(s) skipped"
                + (":" if total else "")
            ]
            listed = [s for s in detail.get("skipped", ()) if isinstance(s, Mapping)]
            for item in listed[:_SKIPPED_SHOWN]:
                lines.append(f"  skipped {item.get('operation')}: {item.get('reason')}")
            if total > min(len(listed), _SKIPPED_SHOWN):
                shown = min(len(listed), _SKIPPED_SHOWN)
                lines.append(f"  … and {total - shown} more (the JSON report lists them)")
            labels[target.target] = tuple(lines)
    return labels


def _check_ca_file(path: str | None) -> None:
    if path is None:
        return
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _fail_usage(f"cannot use CA file {path!r}: {reason}")


class _Progress:
    """A transient rich progress line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(f"scanning {total} target(s)", total=total)

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def target_started(self, target: str) -> None:
        self._progress.update(self._task, description=f"scanning {visible(target)}")

    def target_finished(self, result: TargetResult) -> None:
        self._progress.advance(self._task)


def _render(
    report: ScanReport,
    fmt: str,
    *,
    to_terminal: bool,
    labels: Mapping[str, Label],
    framework: str | None = None,
) -> str:
    if fmt != "console":
        from .reporters import render

        return render(report, fmt, framework=framework)
    from .reporters import console

    width = console.report_width(terminal=to_terminal)  # COLUMNS, the terminal's, or 100
    if to_terminal and "NO_COLOR" not in os.environ:
        return console.render_rich(report, labels=labels, width=width, framework=framework)
    return console.render_plain(report, labels=labels, width=width, framework=framework)


def plan_outputs(
    fmt: str, values: Sequence[str], allowed: Sequence[str] = FORMATS, *, fmt_given: bool = False
) -> list[Output]:
    """Where each report goes, every file checked before anything is scanned (usage errors)."""
    try:
        outputs = outputs_module.plan_outputs(fmt, values, allowed, fmt_given=fmt_given)
        for output in outputs:
            outputs_module.check_output(output)
    except outputs_module.OutputError as exc:
        _fail_usage(str(exc))
    return outputs


def _deliver(output: Output, text: str) -> None:
    """Write one report to stdout or, atomically, to its file."""
    if output.path == "-":
        try:
            click.echo(text, nl=False)
        except OSError as exc:  # a full disk, a closed pipe: one line, not a traceback
            _stdout_lost()
            _fail_usage(f"cannot write the report to stdout: {exc.strerror or exc}")
        return
    try:
        outputs_module.write_atomically(output.path, text)
    except OSError as exc:
        _fail_usage(f"cannot write {output.path!r}: {exc.strerror or exc}")
    click.echo(f"keywire: {output.fmt} report written to {output.path}", err=True)


def _stdout_lost() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _gate_exit(report: ScanReport) -> tuple[int, str]:
    """The exit code and the closing line, as :data:`EXIT_CODES_HELP` lays them out."""
    if not report.scanned_any:
        return EXIT_NOTHING_SCANNED, "nothing could be scanned"
    result = evaluate(report)
    if result.findings_failed:
        reasons = [r for r in result.reasons if not r.startswith("the scan is incomplete")]
        message = "gate failed: " + "; ".join(reasons)
        if result.incomplete:
            message += f" (the scan is also incomplete: {result.incomplete})"
        return EXIT_GATE, message
    if not result.passed:
        return EXIT_INCOMPLETE, (
            f"incomplete scan: {result.incomplete}; nothing at or above the gate was found in "
            "what was tested (exit 3; --allow-incomplete judges only what was tested)"
        )
    if result.incomplete:
        return EXIT_OK, f"gate passed on an incomplete scan ({result.incomplete}; allowed)"
    return EXIT_OK, "gate passed"


def _emit(
    report: ScanReport,
    *,
    settings: Settings,
    labels: Mapping[str, Label] | None = None,
    epilogue: str | None = None,
) -> NoReturn:
    if settings.config is not None:
        report = apply_policy(report, settings.config.policy)
    if settings.baseline is not None:
        report = compare_baseline(report, settings.baseline)
    report = dataclasses.replace(report, gate=settings.gate)
    for output in settings.outputs:
        to_terminal = output.path == "-" and sys.stdout.isatty()
        text = _render(
            report,
            output.fmt,
            to_terminal=to_terminal,
            labels=labels or {},
            framework=settings.values.get("framework"),
        )
        _deliver(output, text)
    for target in report.targets:
        if not target.scanned:
            click.echo(
                f"keywire: {visible(f'{target.target}: not scanned: {target.error}')}", err=True
            )
    for notice in report.notices:
        click.echo(f"keywire: warning: {visible(notice)}", err=True)
    if epilogue:
        click.echo(f"keywire: {epilogue}", err=True)
    code, message = _gate_exit(report)
    click.echo(f"keywire: {message}", err=True)
    sys.exit(code)


@dataclass(frozen=True)
class Settings:
    """The common options after the configuration file filled in what the command line left."""

    config: Config | None
    outputs: list[Output]
    gate: Gate
    baseline: Baseline | None
    values: dict[str, Any]


_CONFIG_KEYS = {
    "fmt": "format",
    "output": "output",
    "fail_on": "fail-on",
    "fail_under": "fail-under",
    "fail_on_new": "fail-on-new",
    "allow_incomplete": "allow-incomplete",
    "baseline": "baseline",
    "timeout": "timeout",
    "scan_timeout": "scan-timeout",
    "only": "only",
    "skip": "skip",
    "ca_file": "ca-file",
    "http_port": "http-port",
    "https_port": "https-port",
    "per_host": "per-host",
    "vulnerability_probes": "vulnerability-probes",
}
"""Command-line parameter → configuration key, for every option a file may set."""


def _settings(ctx: click.Context, values: dict[str, Any]) -> Settings:
    config = None
    if values.get("no_config") and values.get("config") is not None:
        _fail_usage("--config and --no-config exclude each other")
    try:
        if values.pop("no_config", False):
            path = None
        elif values.get("config") is not None:
            path = Path(values["config"])
        else:
            path = discover(Path.cwd())
        values.pop("config", None)
        if path is not None:
            config = load_config(path)
            click.echo(f"keywire: using configuration {path}", err=True)
    except ConfigError as exc:
        _fail_usage(str(exc))
    if config is not None:
        for param, key in _CONFIG_KEYS.items():
            if param not in values or key not in config.options:
                continue
            if ctx.get_parameter_source(param) in (ParameterSource.DEFAULT, None):
                values[param] = config.options[key]
    if values.get("fail_on_new") and not values.get("baseline"):
        _fail_usage("--fail-on-new needs --baseline (the report the new findings are new to)")
    baseline = None
    if values.get("baseline"):
        try:
            baseline = load_baseline(values["baseline"])
        except BaselineError as exc:
            _fail_usage(str(exc))
    fail_on = values["fail_on"]
    gate = Gate(
        fail_on=None if fail_on == "none" else Severity(fail_on),
        fail_under=values.get("fail_under"),
        new_only=bool(values.get("fail_on_new")),
        allow_incomplete=bool(values.get("allow_incomplete")),
    )
    fmt_given = ctx.get_parameter_source("fmt") not in (ParameterSource.DEFAULT, None)
    fmt_given = fmt_given or (config is not None and "format" in config.options)
    outputs = plan_outputs(values["fmt"], values.get("output") or (), fmt_given=fmt_given)
    return Settings(config=config, outputs=outputs, gate=gate, baseline=baseline, values=values)


def _common_options(function: Any) -> Any:
    decorators = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="console",
            show_default=True,
            help="Report format written to stdout (or --output).",
        ),
        click.option(
            "--output",
            "-o",
            multiple=True,
            metavar="[FORMAT:]FILE",
            help="Write a report to FILE: in --format if given, else as FILE's extension says "
            "(.json .sarif .html .md .xml .txt); FORMAT:FILE names the format ('-' is stdout). "
            "Repeat for several formats, e.g. -o keywire.sarif -o report.html. The directory must "
            "exist; files are replaced atomically.",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITY_CHOICES),
            default="high",
            show_default=True,
            help="Exit 1 if any finding is at least this severe ('none' disables).",
        ),
        click.option(
            "--fail-under",
            type=click.IntRange(0, 100),
            help="Exit 1 if the overall score is below this.",
        ),
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False),
            help="A previous JSON report: mark findings new, unchanged or fixed.",
        ),
        click.option(
            "--fail-on-new",
            is_flag=True,
            help="Apply --fail-on to findings that are new since --baseline only.",
        ),
        click.option(
            "--allow-incomplete",
            is_flag=True,
            help="Judge an incomplete scan (a target not scanned, a check not tested) on what "
            "was tested instead of exiting 3.",
        ),
        click.option(
            "--config",
            type=click.Path(dir_okay=False),
            help="Configuration file (default: ./keywire.toml, or [tool.keywire] in ./pyproject.toml).",
        ),
        click.option("--no-config", is_flag=True, help="Do not read any configuration file."),
        click.option(
            "--only",
            multiple=True,
            type=click.Choice(SELECTABLE),
            help="Run only these checks or groups.",
        ),
        click.option(
            "--skip",
            multiple=True,
            type=click.Choice(SELECTABLE),
            help="Skip these checks or groups.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 600),
            default=10.0,
            show_default=True,
            help="Seconds per request.",
        ),
        click.option(
            "--scan-timeout",
            type=click.FloatRange(1, 86400),
            default=300.0,
            show_default=True,
            help="Seconds for the whole scan.",
        ),
        click.option(
            "--framework",
            type=click.Choice(sorted(COMPLIANCE_FRAMEWORKS)),
            help="Also group the console, Markdown and HTML reports by the requirements of "
            "this compliance framework (JSON and SARIF always carry every mapping).",
        ),
        click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


class _Keywire(click.Group):
    """The command group: a stdout that cannot be written ends in one line and exit 2; Ctrl-C
    anywhere ends with exit code 130, not click's "Aborted!" (1)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO):
                raise
            _stdout_lost()
            _fail_usage(f"cannot write the output: {exc.strerror or exc}")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\nkeywire: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=_Keywire, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keywire")
def main() -> None:
    """keywire: can someone on the wire steal your API's keys?"""


@main.command("scan", epilog=EXIT_CODES_HELP)
@click.argument("targets", nargs=-1, required=False)
@_common_options
@click.option(
    "--ca-file", type=click.Path(dir_okay=False), help="Extra trusted CA certificates (PEM)."
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help="'Name: value' credential header, sent only over verified HTTPS to the target host.",
)
@click.option(
    "--header-env",
    "header_envs",
    multiple=True,
    metavar="NAME=VAR",
    help="Like --header, with the value read from environment variable VAR (not shell history).",
)
@click.option(
    "--spec",
    metavar="FILE|URL",
    help="OpenAPI 3.x or Swagger 2.0 description (JSON or YAML) whose GET/HEAD endpoints to scan; "
    "TARGETS, if given, replace its servers.",
)
@click.option(
    "--max-endpoints",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="At most this many endpoints of --spec are probed.",
)
@click.option(
    "--http-port",
    type=click.IntRange(1, 65535),
    help="Port of the cleartext side of https:// targets.",
)
@click.option(
    "--https-port", type=click.IntRange(1, 65535), help="Port of the HTTPS side of http:// targets."
)
@click.option(
    "--per-host",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="Concurrent connections per host.",
)
@click.option(
    "--vulnerability-probes/--no-vulnerability-probes",
    default=True,
    show_default=True,
    help="Probe TLS for Heartbleed, CCS injection and ROBOT (harmless probes, described in "
    "docs/vulnerability-probes.md); --no-vulnerability-probes records them as skipped.",
)
@click.pass_context
def scan_command(
    ctx: click.Context,
    /,
    targets: tuple[str, ...],
    headers: tuple[str, ...],
    header_envs: tuple[str, ...],
    spec: str | None,
    max_endpoints: int,
    **params: Any,
) -> None:
    """Scan TARGETS (http:// or https:// URLs) and report what an observer on the wire could take.

    With --spec, the API description's endpoints are scanned too.
    """
    settings = _settings(ctx, params)
    values = settings.values
    _logging(values["verbose"])
    _check_ca_file(values["ca_file"])
    if not targets and spec is None:
        _fail_usage("give at least one TARGET URL, or --spec FILE|URL")
    credentials = _parse_headers(headers)
    credentials.update(_parse_header_env(header_envs, os.environ))
    _protect(credentials)
    try:
        options = ScanOptions(
            timeout=values["timeout"],
            scan_timeout=values["scan_timeout"],
            ca_file=values["ca_file"],
            headers=credentials,
            spec=spec,
            max_endpoints=max_endpoints,
            http_port=values["http_port"],
            https_port=values["https_port"],
            only=values["only"],
            skip=values["skip"],
            per_host=values["per_host"],
            vulnerability_probes=values["vulnerability_probes"],
        )
    except ValueError as exc:
        _fail_usage(str(exc))
    from .spec.loader import SpecError

    try:
        if sys.stderr.isatty():
            total = max_endpoints if spec is not None else len(targets)
            with _Progress(total) as progress:
                report = scan(list(targets), options=options, observer=progress)
        else:
            report = scan(list(targets), options=options)
    except TargetError as exc:
        _fail_usage(str(exc))
    except SpecError as exc:
        _fail_usage(f"cannot use the API description: {exc}")
    labels = _spec_labels(report) if spec is not None else None
    _emit(report, settings=settings, labels=labels)


@main.command("demo", epilog=EXIT_CODES_HELP)
@_common_options
@click.pass_context
def demo_command(ctx: click.Context, /, **params: Any) -> None:
    """Scan the seed's vulnerable API and its flask_keywire fix on 127.0.0.1 (F → A, offline).

    It exits 1, as a CI job would on the seed: the seed's findings fail the default gate
    (--fail-on high). With --fail-on none it exits 0.
    """
    from .demo import DemoUnavailable, closing_line, run_demo

    settings = _settings(ctx, params)
    values = settings.values
    _logging(values["verbose"])
    click.echo("keywire: starting the demo lab on 127.0.0.1 …", err=True)
    try:
        report, labels = run_demo(
            ScanOptions(
                timeout=values["timeout"],
                scan_timeout=values["scan_timeout"],
                only=values["only"],
                skip=values["skip"],
            )
        )
    except DemoUnavailable as exc:
        _fail_usage(str(exc))
    _emit(report, settings=settings, labels=labels, epilogue=closing_line(report, labels))


@main.command("rules")
@click.argument("rule_id", required=False)
def rules_command(rule_id: str | None) -> None:
    """List the rule catalogue, or show one rule with its remediation."""
    if rule_id is None:
        width = max(len(r.title) for r in RULES.values())
        for rule in RULES.values():
            cwe = ",".join(f"CWE-{n}" for n in rule.cwe)
            listed = " ".join(f"{m.framework}:{m.requirement.id}" for m in mappings_for(rule.id))
            click.echo(
                (
                    f"{rule.id}  {rule.severity.value:<8}  {rule.category.value:<16}  "
                    f"{rule.title:<{width}}  {cwe:<16}  {listed}"
                ).rstrip()
            )
        return
    try:
        rule = get_rule(rule_id)
    except KeyError:
        _fail_usage(f"unknown rule {rule_id!r}; `keywire rules` lists them")
    click.echo(f"{rule.id}: {rule.title}")
    click.echo(f"severity: {rule.severity.value}    category: {rule.category.title}")
    click.echo(
        f"CWE: {', '.join(f'CWE-{n}' for n in rule.cwe)}    OWASP API Top 10: {rule.owasp_api}"
    )
    if rule.grade_cap:
        click.echo(f"grade cap: {rule.grade_cap}")
    click.echo(f"\n{rule.description}\n\nFix: {rule.remediation}")
    if rule.flask_fix:
        click.echo(
            "\nIn Flask:\n"
            + "\n".join("    " + line for line in rule.flask_fix.rstrip().splitlines())
        )
    mapped = mappings_for(rule.id)
    if mapped:
        click.echo("\nCompliance:")
        for m in mapped:
            click.echo(f"  {m.requirement.label}: {m.requirement.title}")
            click.echo(f"      why: {m.why}")
            click.echo(f"      source: {m.citation}")
    click.echo("\nReferences:\n" + "\n".join(f"  {ref}" for ref in rule.references))
    click.echo(f"\nDocs: {rule.doc_path}")


_TOKEN_FILE_CAP = 64 * 1024 * 1024


def _parse_rate(text: str) -> float:
    value = text.strip().lower().removesuffix("/s").strip()
    try:
        rate = float(value)
    except ValueError:
        _fail_usage(f"--rate takes requests per second, like 5 or 5/s, not {text!r}")
    return rate


def _parse_instant(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        _fail_usage(f"--sampled-at takes Unix seconds or an ISO 8601 time, not {text!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _read_token_file(path: str) -> tuple[list[str], float | None]:
    """The file's lines (at most the analysis' limit) and its modification time."""
    from .tokens.analysis import MAX_TOKENS

    try:
        if path == "-":
            data = sys.stdin.buffer.read(_TOKEN_FILE_CAP + 1)
            mtime = None
        else:
            with open(path, "rb") as handle:
                data = handle.read(_TOKEN_FILE_CAP + 1)
                mtime = os.fstat(handle.fileno()).st_mtime
    except OSError as exc:
        _fail_usage(f"cannot read {path!r}: {exc.strerror or exc}")
    if len(data) > _TOKEN_FILE_CAP:
        click.echo(
            f"keywire: {path}: only the first {_TOKEN_FILE_CAP} bytes are analysed", err=True
        )
        data = data[:_TOKEN_FILE_CAP]
    lines = data.decode("utf-8", "replace").splitlines()[:MAX_TOKENS]
    return lines, mtime


def _token_lines(lines: list[str]) -> tuple[list[str], list[float] | None]:
    """Tokens of a file, and each one's time when every line gives one (``TOKEN<TAB>TIME``,
    Unix seconds or ISO 8601): the time it was issued, or received, as precisely as known."""
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not any("\t" in line for _, line in rows):
        return lines, None
    tokens: list[str] = []
    times: list[float] = []
    for number, line in rows:
        token, tab, when = line.partition("\t")
        moment = _instant_or_none(when) if tab else None
        if moment is None:
            _fail_usage(
                f"line {number}: with a time on any line, every line must be TOKEN<TAB>TIME "
                "(Unix seconds or ISO 8601)"
            )
        tokens.append(token)
        times.append(moment)
    return tokens, times


def _instant_or_none(text: str) -> float | None:
    import math
    from datetime import datetime, timezone

    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if math.isfinite(value) and value > 0 else None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@main.command("tokens")
@click.argument("url", required=False)
@click.option(
    "--from",
    "source_spec",
    metavar="SOURCE",
    help="Where the token is: cookie:NAME, header:NAME, json:PATH or body:REGEX.",
)
@click.option(
    "--samples",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Tokens to collect. Default: what every test needs for the tokens seen (100 first, "
    "then up to 2,000; e.g. 157 for 128-bit hex, 625 for 32-bit numbers).",
)
@click.option(
    "--method",
    type=click.Choice(["GET", "HEAD"]),
    default="GET",
    show_default=True,
    help="Request method (read-only methods only).",
)
@click.option("--rate", default="5", show_default=True, help="Requests per second (e.g. 5 or 5/s).")
@click.option(
    "--max-time",
    type=click.FloatRange(1, 86400),
    default=600.0,
    show_default=True,
    help="Stop collecting after this many seconds.",
)
@click.option(
    "--file",
    "token_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Analyse tokens from FILE (one per line, in issue order; '-' for stdin).",
)
@click.option(
    "--sampled-at",
    help="When the file's tokens were collected (Unix time or ISO 8601; default: the file's mtime).",
)
@click.option(
    "--time-window",
    type=click.FloatRange(0, 7 * 86400),
    default=3600.0,
    show_default=True,
    help="Seconds either side of the sampling time searched for time-seeded generators.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(1e-12, 0.1),
    default=1e-6,
    show_default=True,
    help="Family-wise significance level of the statistical tests.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(TOKEN_FORMATS),
    default="console",
    show_default=True,
    help="Report format written to stdout (or --output).",
)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    metavar="[FORMAT:]FILE",
    help="Write a report to FILE: in --format if given, else as FILE's extension says "
    "(.json .html .txt); FORMAT:FILE names the format ('-' is stdout). "
    "Repeat for several formats, e.g. -o tokens.json -o tokens.html.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITY_CHOICES),
    default="low",
    show_default=True,
    help="Exit 1 if any weakness is at least this severe ('none' disables).",
)
@click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Exit 0, not 3, when no weakness was found but some tests needed more samples.",
)
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help="'Name: value' credential header, sent only over verified HTTPS to the URL's origin.",
)
@click.option(
    "--ca-file", type=click.Path(dir_okay=False), help="Extra trusted CA certificates (PEM)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds per request.",
)
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug).")
def tokens_command(
    url: str | None,
    source_spec: str | None,
    samples: int | None,
    method: str,
    rate: str,
    max_time: float,
    token_file: str | None,
    sampled_at: str | None,
    time_window: float,
    alpha: float,
    fmt: str,
    outputs: tuple[str, ...],
    fail_on: str,
    allow_incomplete: bool,
    headers: tuple[str, ...],
    ca_file: str | None,
    timeout: float,
    verbose: int,
) -> None:
    """Collect tokens from URL (or read them from --file) and analyse their randomness.

    Exit codes: 0 no weakness at or above --fail-on and every test ran, 1 weakness, 2 usage
    error, 3 no tokens could be collected, or no weakness was found but some tests needed more
    samples (--allow-incomplete makes that 0), 130 interrupted before any token was collected.
    Ctrl-C during collection analyses the tokens collected so far.
    """
    import time

    from .redact import redact_url
    from .tokens import NoTokens, analyze
    from .tokens.report import Collection, render
    from .tokens.rules import findings as token_findings

    _logging(verbose)
    fmt_source = click.get_current_context().get_parameter_source("fmt")
    fmt_given = fmt_source not in (ParameterSource.DEFAULT, None)
    planned = plan_outputs(fmt, outputs, allowed=TOKEN_FORMATS, fmt_given=fmt_given)
    if (url is None) == (token_file is None):
        _fail_usage("give either a URL to sample or --file with tokens, not both or neither")
    token_times: list[float] | None = None
    capture: dict[str, Any] = {}
    if samples is not None and token_file is not None:
        _fail_usage("--samples is for a URL; --file analyses every token in the file")
    if url is not None:
        if not source_spec:
            _fail_usage(
                "--from is required with a URL (cookie:NAME, header:NAME, json:PATH, body:REGEX)"
            )
        if sampled_at is not None:
            _fail_usage("--sampled-at is for --file; live samples carry their own times")
        _check_ca_file(ca_file)
        tokens, token_times, collection, capture = _collect_tokens(
            url,
            source_spec=source_spec,
            samples=samples,
            method=method,
            rate=_parse_rate(rate),
            max_time=max_time,
            headers=_protect(_parse_headers(headers)),
            ca_file=ca_file,
            timeout=timeout,
        )
        anchor = collection.sampled_at
        target, source = collection.target, collection.source
    else:
        assert token_file is not None
        if source_spec or headers:
            _fail_usage("--from and --header apply to a URL, not to --file")
        lines, mtime = _read_token_file(token_file)
        tokens, token_times = _token_lines(lines)
        first = token_times[0] if token_times else None
        anchor = _parse_instant(sampled_at) if sampled_at else (first or mtime or time.time())
        from_stdin = token_file == "-"  # noqa: S105 (a path, not a password)
        target = "stdin" if from_stdin else f"file:{os.path.basename(token_file)}"
        source = "file"
        collection = Collection(
            target=target,
            source=source,
            requested=len(tokens),
            collected=sum(1 for t in tokens if t.strip()),
            sampled_at=anchor,
        )
    try:
        analysis = analyze(
            tokens,
            sampled_at=anchor,
            token_times=token_times,
            alpha=alpha,
            time_window=time_window,
            **capture,
        )
    except NoTokens:
        click.echo(f"keywire: no tokens to analyse from {visible(target)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    found = token_findings(analysis, target=target, source=source)
    for output in planned:
        _deliver(output, render(analysis, collection, found, output.fmt))
    rerun = f"; rerun with --samples {analysis.samples_wanted}" if not analysis.complete else ""
    line = f"{redact_url(target)}: {analysis.summary()}{rerun}"
    click.echo(f"keywire: {visible(line)}", err=True)
    if fail_on != "none" and any(f.severity >= Severity(fail_on) for f in found):
        sys.exit(EXIT_GATE)
    if not analysis.complete and not allow_incomplete:
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(EXIT_OK)


def _collect_tokens(
    url: str,
    *,
    source_spec: str,
    samples: int | None,
    method: str,
    rate: float,
    max_time: float,
    headers: Mapping[str, str],
    ca_file: str | None,
    timeout: float,
) -> tuple[list[str], list[float], Any, dict[str, Any]]:
    import asyncio
    import time

    from ._scanner import CREDENTIAL_HEADER_ALLOWLIST
    from .net.http import ClientSettings, HttpClient
    from .redact import redact_url
    from .targets import parse_target
    from .tokens.report import Collection
    from .tokens.sampling import (
        AUTO_FIRST_BATCH,
        AUTO_MAX_SAMPLES,
        SamplingPlan,
        SamplingState,
        SourceError,
        collect,
        parse_source,
    )

    try:
        target = parse_target(url)
        source = parse_source(source_spec)
    except (TargetError, SourceError) as exc:
        _fail_usage(str(exc))
    for name in headers:
        lowered = name.lower()
        if lowered not in CREDENTIAL_HEADER_ALLOWLIST and not lowered.startswith("x-"):
            _fail_usage(f"header {name!r} is not sent: only Authorization, Cookie and X-* headers")
    if headers and target.scheme != "https":
        _fail_usage("--header credentials are only sent over verified HTTPS; the URL is http://")
    try:
        plan = SamplingPlan(
            url=target.url,
            source=source,
            samples=samples or AUTO_FIRST_BATCH,
            method=method,
            rate=rate,
            max_time=max_time,
            credentials_origin=target.credentials_origin if headers else None,
            auto=samples is None,
            max_samples=AUTO_MAX_SAMPLES if samples is None else samples,
        )
    except ValueError as exc:
        _fail_usage(str(exc))
    settings = ClientSettings(
        timeout=timeout, body_cap=256 * 1024, per_host=1, ca_file=ca_file, credentials=headers
    )
    shown = redact_url(target.url)
    how_many = (
        f"{samples} token(s)"
        if samples is not None
        else f"tokens (as many as the tests need, {AUTO_FIRST_BATCH} to {AUTO_MAX_SAMPLES})"
    )
    click.echo(
        f"keywire: collecting {how_many} from {shown} ({source}) at up to {rate:g}/s", err=True
    )
    state = SamplingState()
    show = _ProgressLine() if sys.stderr.isatty() else None

    async def run() -> Any:
        async with HttpClient(settings) as client:
            return await collect(plan, client, state=state, progress=show)

    started = time.time()
    try:
        collected = asyncio.run(run())
    except KeyboardInterrupt:
        collected = state.result("interrupted (Ctrl-C)")
        if show is not None:
            show.done()
        if not collected.tokens:
            click.echo("keywire: interrupted before any token was collected", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo(
            f"keywire: interrupted: analysing the {len(collected.tokens)} token(s) collected",
            err=True,
        )
    if show is not None:
        show.done()
    click.echo(
        f"keywire: collected {len(collected.tokens)} token(s) in {collected.requests} "
        f"request(s), {collected.elapsed_s:g} s ({collected.stopped})",
        err=True,
    )
    if not collected.tokens:
        reason = collected.last_error or collected.stopped
        click.echo(f"keywire: could not collect any token: {visible(reason)}", err=True)
        sys.exit(EXIT_NOTHING_SCANNED)
    collection = Collection(
        target=shown,
        source=str(source),
        requested=max(collected.target, len(collected.tokens)),
        collected=len(collected.tokens),
        requests=collected.requests,
        failures=collected.failures,
        missing=collected.missing,
        elapsed_s=collected.elapsed_s,
        stopped=collected.stopped,
        sampled_at=started,
    )
    capture = {"sent_times": collected.sent_times, "server_dates": collected.server_dates}
    return list(collected.tokens), list(collected.times), collection, capture


class _ProgressLine:
    """``collected 123/157 token(s)`` on one terminal line, redrawn at most 5 times a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._shown = False

    def __call__(self, state: Any) -> None:
        import time

        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self._shown = True
        click.echo(
            f"\rkeywire: collected {len(state.tokens)}/{state.target} token(s), "
            f"{state.requests} request(s)\x1b[K",
            err=True,
            nl=False,
        )

    def done(self) -> None:
        if self._shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self._shown = False


def _protect(credentials: dict[str, str]) -> dict[str, str]:
    """Keep the user's credential values out of every log line."""
    from ._logsafe import protect

    protect(credentials.values())
    return credentials


def _logging(verbose: int) -> None:
    from ._logsafe import configure

    configure(verbose)  # redacted, one visible line per record, no raw wire data


if __name__ == "__main__":  # python -m keywire.cli
    main()
