"""``keywire completion SHELL``: print click's shell completion script for keywire."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_KEYWIRE_COMPLETE"


@click.command(
    "completion",
    short_help="Print the shell completion script (bash, zsh or fish).",
    epilog="""\b
Enable it:
  bash  echo 'eval "$(keywire completion bash)"' >> ~/.bashrc
  zsh   echo 'eval "$(keywire completion zsh)"' >> ~/.zshrc
  fish  keywire completion fish > ~/.config/fish/completions/keywire.fish""",
)
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, /, shell: str) -> None:
    """Print the completion script for SHELL (commands, options, choices such as --format)."""
    from click.shell_completion import get_completion_class

    completion = get_completion_class(shell)
    assert completion is not None  # every name in SHELLS is one of click's
    root = ctx.find_root().command
    click.echo(completion(root, {}, "keywire", COMPLETE_VAR).source())
