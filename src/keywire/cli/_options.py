"""The option table (:mod:`keywire.options`) as click options, and the configuration file filling
in what the command line left.

Commands take ``@table_options(COMMAND)``: every row of the table that lists the command becomes
a click option, in the table's order. Nothing about an option is declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from .._dataclass import dataclass
from .._models import Gate, Severity
from ..config import Config, ConfigError, discover, load_config
from ..options import OPTION, OPTIONS, Option, options_for
from ..outputs import Output
from ._exit import fail_usage
from ._messages import info
from ._report import plan_outputs

if TYPE_CHECKING:
    from ..baseline import Baseline

F = TypeVar("F", bound=Callable[..., Any])


def table_options(command: str) -> Callable[[F], F]:
    """Decorate ``command``'s function with its options from the table."""

    def decorate(function: F) -> F:
        for option in reversed(options_for(command)):
            function = _click_option(option)(function)
        return function

    return decorate


def _click_option(option: Option) -> Callable[[F], F]:
    long = f"--{option.name}"
    names = [f"{long}/--no-{option.name}" if option.negatable else long]
    if option.short:
        names.append(option.short)
    names.append(option.param)
    kwargs: dict[str, Any] = {"help": option.help, "show_default": option.show_default}
    if option.metavar:
        kwargs["metavar"] = option.metavar
    if option.multiple:
        kwargs["multiple"] = True
    if option.kind == "flag":
        kwargs["is_flag"] = True
    elif option.kind == "count":
        kwargs["count"] = True
    elif option.kind == "number":
        kwargs["type"] = click.FloatRange(option.low, option.high)
    elif option.kind == "integer":
        low, high = option.low, option.high
        kwargs["type"] = click.IntRange(
            int(low) if low is not None else None, int(high) if high is not None else None
        )
    elif option.kind == "choice":
        # Choices the table computes (report formats, check names) are asked for when click
        # needs them (parsing, --help), not when the command line is imported.
        kwargs["type"] = (
            _LazyChoice(option.allowed)
            if callable(option.choices)
            else (click.Choice(option.allowed()))
        )
    elif option.kind == "path":
        kwargs["type"] = click.Path(dir_okay=False, allow_dash=option.dash)
    if option.default is not None:
        kwargs["default"] = option.default
    decorator: Callable[[F], F] = click.option(*names, **kwargs)
    return decorator


class _LazyChoice(click.Choice[str]):
    """A :class:`click.Choice` whose choices are computed on first use."""

    def __init__(self, resolve: Callable[[], tuple[str, ...]]) -> None:
        self._resolve = resolve
        self._resolved: tuple[str, ...] | None = None
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        if self._resolved is None:
            self._resolved = tuple(self._resolve())
        return self._resolved

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        self._resolved = tuple(value)


def format_given(ctx: click.Context) -> bool:
    """Whether ``--format`` was given (else it is the default)."""
    return _given(ctx, OPTION["format"].param)


def _given(ctx: click.Context, param: str) -> bool:
    return ctx.get_parameter_source(param) not in (ParameterSource.DEFAULT, None)


def check_ca_file(path: str | None) -> None:
    if path is None:
        return
    from ..net import contexts

    try:
        contexts.check_ca_file(path)  # the file alone: no CA bundle is loaded for this
    except contexts.CaFileError as exc:
        fail_usage(f"cannot use CA file {path!r}: {exc}")


@dataclass(frozen=True)
class Settings:
    """The options after the configuration file filled in what the command line left, and what
    finishes the report (:func:`keywire.finish_report`): the policy, the baseline, the gate."""

    config: Config | None
    outputs: list[Output]
    gate: Gate
    baseline: Baseline | None
    values: dict[str, Any]


def load_settings(ctx: click.Context, values: dict[str, Any]) -> Settings:
    """Read the configuration file, fill in the options the command line left at their
    defaults, and check the gate, the baseline and the outputs (usage errors, before any
    traffic)."""
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
            info(f"keywire: using configuration {path}")
    except ConfigError as exc:
        fail_usage(str(exc))
    if config is not None:
        for option in OPTIONS:
            if not option.config or option.param not in values:
                continue
            if option.name not in config.options:
                continue
            if not _given(ctx, option.param):
                values[option.param] = config.options[option.name]
    if values.get("fail_on_new") and not values.get("baseline"):
        fail_usage("--fail-on-new needs --baseline (the report the new findings are new to)")
    baseline = None
    if values.get("baseline"):
        from ..baseline import BaselineError, load_baseline

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
    fmt_given = format_given(ctx) or (config is not None and "format" in config.options)
    outputs = plan_outputs(values["fmt"], values.get("output") or (), fmt_given=fmt_given)
    return Settings(config=config, outputs=outputs, gate=gate, baseline=baseline, values=values)


def configure_logging(verbose: int) -> None:
    from .._logsafe import configure

    configure(verbose)  # redacted, one visible line per record, no raw wire data
