"""The command line's manners: shell completion, NO_COLOR/FORCE_COLOR, -q, whole help summaries."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from keywire.cli import main
from keywire.cli._messages import color_wanted

BIN = str(Path(sys.executable).parent)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def _shell(shell: str, script: str) -> str:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    done = subprocess.run(
        [shell, "-c", script], env=_env(), capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_bash_completion_in_bash():
    out = _shell(
        "bash",
        'eval "$(keywire completion bash)"\n'
        "COMP_WORDS=(keywire sc); COMP_CWORD=1; _keywire_completion keywire\n"
        'printf "%s\\n" "${COMPREPLY[@]}"; echo ---\n'
        'COMP_WORDS=(keywire scan --format ""); COMP_CWORD=3; _keywire_completion keywire\n'
        'printf "%s\\n" "${COMPREPLY[@]}"',
    )
    commands, formats = out.split("---\n")
    assert commands.split() == ["scan"]
    assert {"console", "json", "sarif", "junit"} <= set(formats.split())


def test_fish_completion_in_fish():
    out = _shell("fish", 'keywire completion fish | source; complete -C "keywire li"')
    assert out.startswith("lint-spec\tCheck OpenAPI/Swagger files offline")


def test_zsh_completion_script_and_protocol():
    script = subprocess.run(
        [sys.executable, "-m", "keywire.cli", "completion", "zsh"],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert script.startswith("#compdef keywire")
    assert "compdef _keywire_completion keywire" in script
    if shutil.which("zsh") is not None:
        subprocess.run(["zsh", "-n", "-c", script], check=True, timeout=30)
    # What the script asks keywire for, and what it gets.
    answer = subprocess.run(
        [sys.executable, "-m", "keywire.cli"],  # named keywire, as the console script is
        env=_env(_KEYWIRE_COMPLETE="zsh_complete", COMP_WORDS="keywire mc", COMP_CWORD="1"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert answer[:2] == ["plain", "mcp"]


def test_completion_rejects_other_shells(runner):
    result = runner.invoke(main, ["completion", "powershell"])
    assert result.exit_code == 2 and "powershell" in result.stderr


def test_help_summaries_are_whole_sentences(runner):
    result = runner.invoke(main, ["--help"], terminal_width=80)
    listed = result.stdout.split("Commands:\n", 1)[1].splitlines()
    assert len(listed) == len(main.list_commands(click.Context(main)))
    for line in listed:
        name, summary = line.split(None, 1)
        assert not summary.endswith("..."), line
        assert summary == main.get_command(click.Context(main), name).short_help, line
        assert summary.endswith("."), line


@pytest.mark.parametrize(
    ("environ", "terminal", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": ""}, True, True),  # set but empty: ignored (no-color.org)
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": "0"}, True, False),  # any value
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
    ],
)
def test_color_rules(environ, terminal, expected):
    assert color_wanted(terminal, environ) is expected


def _run_on_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """Run keywire with stdout and stderr on a pseudo-terminal; return what it wrote."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "keywire.cli", *args],
            stdout=follower,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            env={**env, "COLUMNS": "100"},
        )
        os.close(follower)
        out = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process is done
                    break
                if not chunk:
                    break
                out += chunk
            elif process.poll() is not None:
                break
        process.wait(timeout=30)
        return out
    finally:
        os.close(leader)


def test_empty_no_color_still_colours_a_terminal_and_force_color_colours_a_pipe(runner):
    demo = ["demo", "--only", "hsts", "--fail-on", "none"]
    coloured = _run_on_terminal(demo, _env(NO_COLOR=""))
    plain = _run_on_terminal(demo, _env(NO_COLOR="1"))
    assert b"\x1b[" in coloured and b"grade" in coloured
    assert b"\x1b[" not in plain and b"grade" in plain
    piped = runner.invoke(main, demo, env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert "\x1b[" in piped.stdout
    both = runner.invoke(main, demo, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in both.stdout and "grade" in both.stdout


def test_quiet_keeps_only_what_is_wrong(runner, lab_api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    api = lab_api()
    target = api.https.url + "/v1/resource"
    common = ["scan", target, "--http-port", str(api.http.port), "--ca-file", api.ca_file]
    loud = runner.invoke(main, [*common, "-o", str(tmp_path / "r.json")])
    assert loud.exit_code == 0, loud.output
    assert "report written" in loud.stderr and "gate passed" in loud.stderr
    quiet = runner.invoke(main, [*common, "-q", "-o", str(tmp_path / "r.json")])
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    failing = runner.invoke(main, [*common, "-q", "--fail-on", "info", "--fail-under", "101"])
    assert failing.exit_code in (1, 2)
    both = runner.invoke(main, [*common, "-q", "-v"])
    assert both.exit_code == 2 and "exclude each other" in both.stderr


def test_quiet_still_says_why_the_gate_failed(runner, lab_api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    api = lab_api(hsts=None)  # KW140, medium
    args = ["scan", api.https.url + "/v1/resource", "--http-port", str(api.http.port)]
    args += ["--ca-file", api.ca_file, "--fail-on", "medium", "-q"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "keywire: gate failed: 1 finding at or above medium"
    ]


def test_quiet_demo_and_tokens(runner, tmp_path):
    demo = runner.invoke(main, ["demo", "-q", "--only", "hsts", "--fail-on", "none"])
    assert demo.exit_code == 0, demo.output
    assert demo.stderr == ""
    tokens_file = tmp_path / "tokens.txt"
    tokens_file.write_text("\n".join(os.urandom(16).hex() for _ in range(300)) + "\n")
    tokens = runner.invoke(main, ["tokens", "-q", "--file", str(tokens_file)])
    assert tokens.stderr == "", tokens.stderr
    assert tokens.exit_code in (0, 3)


def test_the_command_line_loads_no_integration_until_its_command_runs():
    """``import keywire.cli`` (every command's start-up) loads neither the MCP SDK, pydantic,
    pytest nor keywire's MCP server, test fixture or spec linter."""
    code = (
        "import sys, keywire.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic', 'pytest')"
        " or m.startswith(('keywire.mcp_server', 'keywire.testing', 'keywire.openapi.lint',"
        " 'keywire.pytest_plugin'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    ).stdout
    assert out.strip() == "[]"
