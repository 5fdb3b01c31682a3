"""The option table drives the command line, the configuration file and ScanOptions.

Each option is declared once (:data:`keywire.options.OPTIONS`); these tests hold every consumer
to the table, so a new option cannot be half-added.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import click
import pytest

import keywire
from keywire.cli import main
from keywire.config import load_config
from keywire.options import OPTION, OPTIONS, options_for
from keywire.scanoptions import ScanOptions, scan_options

SRC = Path(keywire.__file__).parent

#: A valid value of each option a configuration file may set (TOML).
CONFIG_VALUES = {
    "format": '"json"',
    "output": '["json:report.json"]',
    "fail-on": '"medium"',
    "fail-under": "80",
    "fail-on-new": "true",
    "allow-incomplete": "true",
    "baseline": '"base.json"',
    "timeout": "2.5",
    "scan-timeout": "30",
    "target-timeout": "20",
    "per-host": "2",
    "max-connections": "40",
    "max-targets": "8",
    "retries": "2",
    "workers": "3",
    "progress-every": "5",
    "only": '["hsts"]',
    "skip": '["tls"]',
    "ca-file": '"ca.pem"',
    "http-port": "8080",
    "https-port": "8443",
    "offline": "true",
    "vulnerability-probes": "false",
}


def test_every_command_takes_exactly_its_rows():
    for name in (
        "scan",
        "demo",
        "tokens",
        "watch",
        "history",
        "diff",
        "report",
        "mcp",
        "lint-spec",
        "worker",
    ):
        command = main.get_command(click.Context(main), name)
        declared = {
            p.opts[0].removeprefix("--") for p in command.params if isinstance(p, click.Option)
        }
        declared.discard("help")
        assert declared == {o.name for o in options_for(name)}, name


def test_click_options_follow_the_rows():
    command = main.get_command(click.Context(main), "scan")
    params = {p.name: p for p in command.params}
    timeout = params["timeout"]
    assert isinstance(timeout.type, click.FloatRange)
    assert (timeout.type.min, timeout.type.max, timeout.default) == (0.1, 600, 10.0)
    assert main.get_command(click.Context(main), "tokens").params[-1].name in {
        o.param for o in options_for("tokens")
    }
    tokens = {p.name: p for p in main.get_command(click.Context(main), "tokens").params}
    assert tokens["fail_on"].default == "low"  # the tokens override
    assert params["fail_on"].default == "high"


def test_scan_fields_exist_with_the_rows_defaults():
    fields = {f.name: f for f in dataclasses.fields(ScanOptions)}
    for option in OPTIONS:
        if option.scan_field is None:
            continue
        assert option.scan_field in fields, option.name
        default = fields[option.scan_field].default
        if option.default is not None and default is not dataclasses.MISSING:
            assert default == option.default, option.name


def test_every_configurable_option_is_read_from_a_file_and_reaches_scan_options(tmp_path):
    configurable = {o.name for o in OPTIONS if o.config}
    assert configurable == set(CONFIG_VALUES)
    (tmp_path / "ca.pem").write_text("", encoding="utf-8")
    path = tmp_path / "keywire.toml"
    path.write_text(
        "\n".join(f"{key} = {value}" for key, value in CONFIG_VALUES.items()) + "\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert set(config.options) == configurable
    options = config.scan_options()
    assert (options.timeout, options.per_host, options.http_port) == (2.5, 2, 8080)
    assert (options.target_timeout, options.max_connections, options.max_targets) == (20, 40, 8)
    assert (options.scan_timeout, options.retries) == (30, 2)
    assert (tuple(options.only), tuple(options.skip)) == (("hsts",), ("tls",))
    assert options.vulnerability_probes is False


def test_scan_options_from_command_values():
    values = {o.param: o.default for o in options_for("scan")}
    values.update(timeout=3.0, per_host=1, only=("hsts",))
    options = scan_options(values, headers={"X-API-Key": "k" * 20})
    assert (options.timeout, options.per_host, tuple(options.only)) == (3.0, 1, ("hsts",))
    assert options.headers == {"X-API-Key": "k" * 20}


@pytest.mark.parametrize("alias", ["spec", "openapi"])
def test_the_openapi_group_keeps_its_former_name(alias):
    selected = ScanOptions(only=(alias,), spec="openapi.json").selected()
    assert [f.name for f in selected] == ["openapi"]
    assert [f.name for f in ScanOptions(skip=(alias,), spec="x").selected()].count("openapi") == 0


def test_no_option_is_declared_outside_the_table():
    """click options are made from the table only (cli/_options.py); no module declares one."""
    offenders = []
    for path in sorted((SRC / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "option"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "click"
                and path.name != "_options.py"
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
    assert OPTION["timeout"].commands == ("scan", "demo", "tokens", "watch")


def test_a_negatable_flag_row_makes_an_on_off_option():
    from click.testing import CliRunner

    from keywire.cli._options import _click_option
    from keywire.options import Option

    row = Option(
        name="probes", kind="flag", negatable=True, default=True, commands=("scan",), help="x"
    )

    @click.command()
    @_click_option(row)
    def command(probes: bool) -> None:
        click.echo(repr(probes))

    runner = CliRunner()
    assert runner.invoke(command, []).output == "True\n"
    assert runner.invoke(command, ["--no-probes"]).output == "False\n"
    assert runner.invoke(command, ["--probes"]).output == "True\n"
