"""``keywire mcp``: keywire over the Model Context Protocol, for AI coding assistants.

:mod:`.policy` holds what the user allows (targets, credentials, rate), :mod:`.tools` what each
tool does and how its answer is laid out (text from a target quoted as untrusted data), and
:mod:`.server` binds them to the official ``mcp`` SDK (the ``keywire[mcp]`` extra), which only
that module imports. See docs/mcp.md.
"""
