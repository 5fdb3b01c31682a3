"""The options every scanning command shares, and the configuration file filling them in."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from .._models import Gate, Severity
from ..baseline import Baseline, BaselineError, load_baseline
from ..checks import FAMILIES, GROUPS
from ..config import Config, ConfigError, discover, load_config
from ..outputs import Output
from ..reporters import FORMATS
from ._exit import (
    fail_usage,
)
from ._report import plan_outputs

SEVERITY_CHOICES = [s.value for s in Severity] + ["none"]
SELECTABLE = sorted(GROUPS | {f.name for f in FAMILIES})


def check_ca_file(path: str | None) -> None:
    if path is None:
        return
    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail_usage(f"cannot use CA file {path!r}: {reason}")


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
}
"""Command-line parameter → configuration key, for every option a file may set."""


def load_settings(ctx: click.Context, values: dict[str, Any]) -> Settings:
    config = None
    if values.get("no_config") and values.get("config") is not None:
        fail_usage("--config and --no-config exclude each other")
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
        fail_usage(str(exc))
    if config is not None:
        for param, key in _CONFIG_KEYS.items():
            if param not in values or key not in config.options:
                continue
            if ctx.get_parameter_source(param) in (ParameterSource.DEFAULT, None):
                values[param] = config.options[key]
    if values.get("fail_on_new") and not values.get("baseline"):
        fail_usage("--fail-on-new needs --baseline (the report the new findings are new to)")
    baseline = None
    if values.get("baseline"):
        try:
            baseline = load_baseline(values["baseline"])
        except BaselineError as exc:
            fail_usage(str(exc))
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


def common_options(function: Any) -> Any:
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
        click.option("-v", "--verbose", count=True, help="Log to stderr (-vv for debug)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def configure_logging(verbose: int) -> None:
    from .._logsafe import configure

    configure(verbose)  # redacted, one visible line per record, no raw wire data
