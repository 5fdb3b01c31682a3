"""``keywire mcp``: serve keywire to an AI assistant over the Model Context Protocol (stdio).

stdout is the protocol's channel: nothing else is written there. What the server may scan is the
user's configuration (:mod:`keywire.mcp_server.policy`); this command reads it, says on stderr
what is allowed, and serves until the client closes the connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from .._display import visible
from ._exit import fail_usage
from ._messages import info, set_quiet
from ._options import table_options


@click.command("mcp", short_help="Serve scans, rules and fixes to AI assistants (MCP, stdio).")
@table_options("mcp")
def mcp_command(**values: Any) -> None:
    """Serve keywire over the Model Context Protocol on stdio, for AI coding assistants.

    Tools: scan_api, explain_rule, flask_fix, analyse_tokens, diff_scans, allowed_targets; resources:
    the rule catalogue (keywire://rules). Scans are recorded in the history store. Scans only URLs under the prefixes the user allows, in the
    configuration's [mcp] table (allow = [...]) or KEYWIRE_MCP_ALLOW (comma-separated);
    nothing is allowed by default, loopback included. Credentials come only from environment
    variables the configuration names ([[mcp.credentials]]), never from the model. Needs
    the MCP SDK (pip install mcp; the 'mcp' extra of keywire).
    """
    from ..config import ConfigError, discover, load_config
    from ..mcp_server.policy import PolicyError, describe, load_policy

    set_quiet(values["quiet"])
    if values["config"] is not None and values["no_config"]:
        fail_usage("--config and --no-config exclude each other")
    workspace = Path(values["workspace"] or Path.cwd())
    if not workspace.is_dir():
        fail_usage(f"--workspace {values['workspace']!r} is not a directory")
    try:
        import mcp  # noqa: F401
    except ImportError:
        fail_usage(
            "keywire mcp needs the MCP SDK: pip install mcp (or keywire's 'mcp' extra, "
            "pip install '.[mcp]' in its checkout)"
        )
    config = None
    try:
        if values["no_config"]:
            path = None
        elif values["config"] is not None:
            path = Path(values["config"])
        else:
            path = discover(Path.cwd())
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

    store = Path(values["store"]).expanduser() if values.get("store") else None
    serve(
        McpContext(
            policy=policy,
            config=config,
            workspace=workspace,
            store=store,
            record=not values["no_store"],
        )
    )
