"""``keywire mcp``: serve keywire to an AI assistant over the Model Context Protocol (stdio).

stdout is the protocol's channel: nothing else is written there. What the server may scan is the
user's configuration (:mod:`keywire.mcp_server.policy`); this command reads it, says on stderr
what is allowed, and serves until the client closes the connection.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from .._display import visible
from ._exit import fail_usage
from ._messages import info, quiet_option


@click.command(
    "mcp",
    short_help="Serve scans, rules and fixes to AI assistants (MCP, stdio).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file with the [mcp] table (default: keywire.toml or pyproject.toml "
    "in the current directory).",
)
@click.option("--no-config", is_flag=True, help="Ignore configuration files.")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, exists=True),
    help="The directory analyse_tokens may read files from (default: the current directory).",
)
@quiet_option
def mcp_command(config_path: str | None, no_config: bool, workspace: str | None) -> None:
    """Serve keywire over the Model Context Protocol on stdio, for AI coding assistants.

    Tools: scan_api, explain_rule, flask_fix, analyse_tokens, allowed_targets; resources: the
    rule catalogue (keywire://rules). Scans only URLs under the prefixes the user allows, in the
    configuration's [mcp] table (allow = [...]) or KEYWIRE_MCP_ALLOW (comma-separated);
    nothing is allowed by default, loopback included. Credentials come only from environment
    variables the configuration names ([[mcp.credentials]]), never from the model. Needs
    pip install 'keywire[mcp]'.
    """
    from ..config import ConfigError, discover, load_config
    from ..mcp_server.policy import PolicyError, describe, load_policy

    if config_path is not None and no_config:
        fail_usage("--config and --no-config exclude each other")
    try:
        import mcp  # noqa: F401
    except ImportError:
        fail_usage("keywire mcp needs the MCP SDK: pip install 'keywire[mcp]'")
    config = None
    try:
        path = None if no_config else Path(config_path) if config_path else discover(Path.cwd())
        if path is not None:
            config = load_config(path)
            info(f"keywire mcp: using configuration {path}")
        policy = load_policy(config.mcp if config else None, os.environ)
    except (ConfigError, PolicyError) as exc:
        fail_usage(str(exc))
    for line in describe(policy):
        info(f"keywire mcp: {visible(line)}")
    from ..mcp_server.server import serve
    from ..mcp_server.tools import McpContext

    root = Path(workspace) if workspace else Path.cwd()
    serve(McpContext(policy=policy, config=config, workspace=root))
