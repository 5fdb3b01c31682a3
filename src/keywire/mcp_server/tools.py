"""What each MCP tool does: plain functions, no SDK (:mod:`.server` binds them to it).

Answers are text for a model, written by :mod:`._render`: keywire's verdicts plainly, the target's
text quoted inside an untrusted-data block. A refusal (a target off the allowlist, the rate cap,
a bad argument) raises :class:`ToolError`, which the server turns into a tool error the model
reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from .._dataclass import dataclass
from .._display import visible
from ._render import MAX_EXCERPT, Answer, UntrustedBlock, quote, render_scan
from .policy import AllowlistResolver, McpPolicy, NormalUrl, PolicyError, RateLimiter, normalise_url

if TYPE_CHECKING:
    from .._models import Rule
    from ..config import Config
    from ..net.resolver import Resolver
    from ..scanoptions import ScanOptions

#: A scan asked for by a model ends within this many seconds (a configuration may set less).
MCP_SCAN_TIMEOUT = 120.0
#: Bytes of the target's answer read for the excerpt.
EXCERPT_BYTES = 4096


class ToolError(Exception):
    """A request the server refuses; the message is for the model (and the user)."""


@dataclass
class McpContext:
    """What the tools share for the life of the server."""

    policy: McpPolicy
    config: Config | None = None
    workspace: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    resolver: Resolver | None = None
    #: The history store scans are recorded in and diffs read (None: the default location).
    store: Path | None = None
    #: Record each scan in the store (``keywire scan`` does too), so that diff_scans has them.
    record: bool = True
    limiter: RateLimiter = field(init=False)
    scan_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.policy.scans_per_minute)


# -- scan ------------------------------------------------------------------------------------


def check_target(
    policy: McpPolicy, url: str, *, http_port: int | None, https_port: int | None
) -> tuple[NormalUrl, str]:
    """The normalised target (and its query) if the allowlist permits it and its other side;
    :class:`ToolError` otherwise."""
    shown = quote(url, 200)
    if not policy.allow:
        raise ToolError(
            f"refused: {shown} is not scanned. No target is allowed: the user has not configured "
            "an allowlist (keywire.toml [mcp] allow = [...], or the KEYWIRE_MCP_ALLOW "
            "environment variable). Ask the user to add the API's URL prefix there."
        )
    try:
        normal, query = normalise_url(url, what="target")
    except PolicyError as exc:
        raise ToolError(f"refused: {shown} is not a URL keywire scans ({exc})") from None
    if not policy.allow.permits(normal):
        raise ToolError(
            f"refused: {shown} is not on the allowlist the user configured; nothing was sent. "
            f"Allowed prefixes: {', '.join(str(p) for p in policy.allow.prefixes)}. Only the "
            "user can add one (keywire.toml [mcp] allow, or KEYWIRE_MCP_ALLOW)."
        )
    for scheme, port in (("http", http_port), ("https", https_port)):
        if port is None:
            continue
        if not 1 <= port <= 65535:
            raise ToolError(f"refused: {scheme}_port must be a port number from 1 to 65535")
        side = dataclasses.replace(normal, scheme=scheme, port=port)
        if not policy.allow.permits(side):
            raise ToolError(
                f"refused: the {scheme} side {side} is not on the allowlist; nothing was sent"
            )
    return normal, query


def scan_options(
    ctx: McpContext,
    headers: Mapping[str, str],
    *,
    http_port: int | None = None,
    https_port: int | None = None,
) -> ScanOptions:
    """The configuration's scan options (if any), with the user's headers, the other side's
    port and at most :data:`MCP_SCAN_TIMEOUT` seconds."""
    from ..scanoptions import ScanOptions

    base = ctx.config.scan_options() if ctx.config is not None else ScanOptions()
    return dataclasses.replace(
        base,
        headers=dict(headers),
        scan_timeout=min(base.scan_timeout or MCP_SCAN_TIMEOUT, MCP_SCAN_TIMEOUT),
        target_timeout=min(base.target_timeout, MCP_SCAN_TIMEOUT),
        http_port=http_port,
        https_port=https_port,
    )


def scan_api(
    ctx: McpContext,
    url: str,
    *,
    http_port: int | None = None,
    https_port: int | None = None,
    with_credentials: bool = False,
) -> str:
    """Scan ``url`` (on the allowlist) and describe the result; blocking (run it in a thread)."""
    from .._scanner import scan
    from ..net.resolver import SystemResolver
    from ..targets import TargetError, parse_target

    normal, query = check_target(ctx.policy, url, http_port=http_port, https_port=https_port)
    headers: dict[str, str] = {}
    if with_credentials:
        if not any(e.prefix.covers(normal) for e in ctx.policy.credentials):
            raise ToolError(
                "refused: no credential is configured for this target (the user names them in "
                "keywire.toml [[mcp.credentials]]; credentials are never taken from the model)"
            )
        try:
            headers = ctx.policy.headers_for(normal, ctx.environ)
        except PolicyError as exc:
            raise ToolError(f"refused: {exc}") from None
    wait = ctx.limiter.acquire()
    if wait > 0:
        raise ToolError(
            f"refused: at most {ctx.policy.scans_per_minute} scan(s) per minute (the user's "
            f"setting); try again in {wait:.0f} s"
        )
    if not ctx.scan_lock.acquire(blocking=False):
        raise ToolError("refused: another scan is running; one scan at a time")
    try:
        options = scan_options(ctx, headers, http_port=http_port, https_port=https_port)
        try:
            target = parse_target(
                str(normal) + (f"?{query}" if query else ""),
                http_port=http_port,
                https_port=https_port,
            )
        except TargetError as exc:
            raise ToolError(f"refused: {visible(str(exc))}") from None
        resolver = AllowlistResolver(
            ctx.resolver or SystemResolver(timeout=options.timeout), ctx.policy.allow.hosts
        )
        report = scan([target], options=options, resolver=resolver, config=ctx.config)
        excerpt = asyncio.run(_answer(target.url, options, resolver))
        from ._history import record  # it imports this module

        recorded = record(ctx, report)
    finally:
        ctx.scan_lock.release()
    text = render_scan(report, excerpt=excerpt, credentials=sorted(headers))
    return text + (f"\n{recorded}\n" if recorded else "")


async def _answer(url: str, options: ScanOptions, resolver: Resolver) -> Answer | str:
    """One anonymous GET of the target, for context: its status and the start of its body."""
    from ..net.http import FetchFailure, HttpClient
    from ..redact import redact
    from ..secrets.scanner import secret_values

    settings = dataclasses.replace(
        options.client_settings(), credentials={}, body_cap=EXCERPT_BYTES
    )
    async with HttpClient(settings, resolver=resolver) as http:
        result = await http.fetch(url, probe="mcp-answer")
    if isinstance(result, FetchFailure):
        return result.reason
    text = result.body.decode("utf-8", "replace")[: MAX_EXCERPT * 2]
    for raw in secret_values(text):
        text = text.replace(raw, str(redact(raw)))
    return Answer(
        url=result.url,
        status=f"HTTP {result.status} {result.reason}".rstrip(),
        content_type=result.header("content-type") or "",
        text=text,
    )


# -- rules -----------------------------------------------------------------------------------


def _rule(rule_id: str) -> Rule:
    from ..rules import RULES

    key = str(rule_id).strip().upper()
    rule = RULES.get(key)
    if rule is None:
        raise ToolError(
            f"unknown rule {quote(rule_id, 40)}; rule IDs look like KW101 "
            "(the keywire://rules resource lists them)"
        )
    return rule


def explain_rule(rule_id: str) -> str:
    """A rule in full: what it finds, why it matters, its fix, CWE, compliance, references."""
    from ..compliance import mappings_for

    rule = _rule(rule_id)
    lines = [
        f"{rule.id}: {rule.title}" + (" (retired)" if rule.retired else ""),
        f"Severity: {rule.severity.value}. Category: {rule.category.title}. "
        f"CWE: {', '.join(f'CWE-{n}' for n in rule.cwe)}. OWASP API Top 10: {rule.owasp_api}.",
    ]
    if rule.grade_cap:
        lines.append(f"Grade cap: {rule.grade_cap}.")
    lines += ["", rule.description, "", f"Fix: {rule.remediation}"]
    if rule.flask_fix:
        lines.append("Flask code for the fix: call flask_fix with this rule ID.")
    mapped = mappings_for(rule.id)
    if mapped:
        lines += ["", "Compliance:"]
        lines += [f"- {m.requirement.label}: {m.requirement.title} ({m.why})" for m in mapped]
    lines += ["", "References:", *(f"- {ref}" for ref in rule.references)]
    return "\n".join(lines) + "\n"


def flask_fix(rule_id: str) -> str:
    """The fix for a finding of ``rule_id`` in a Flask API: the remediation and flask_keywire
    code where one applies."""
    rule = _rule(rule_id)
    lines = [f"{rule.id}: {rule.title}", "", f"Fix: {rule.remediation}"]
    if rule.flask_fix:
        lines += ["", "In Flask:", "```python", rule.flask_fix.rstrip(), "```"]
    else:
        lines += [
            "",
            "This rule has no Flask-specific code: the fix is in the server or proxy "
            "configuration described above.",
        ]
    return "\n".join(lines) + "\n"


def catalogue() -> str:
    """The rule catalogue as JSON: one entry per rule."""
    from ..rules import RULES

    return json.dumps(
        [
            {
                "id": r.id,
                "title": r.title,
                "severity": r.severity.value,
                "category": r.category.value,
                "cwe": list(r.cwe),
                "retired": r.retired,
                "uri": f"keywire://rules/{r.id}",
            }
            for r in RULES.values()
        ],
        indent=1,
    )


def rule_ids() -> Iterable[str]:
    from ..rules import RULES

    return tuple(RULES)


# -- tokens ----------------------------------------------------------------------------------


def analyse_tokens(ctx: McpContext, path: str) -> str:
    """Analyse the tokens in a file inside the workspace (one per line)."""
    from ..tokens import NoTokens
    from ..tokens.intake import TokenInputError, read_token_file
    from ..tokens.report import render_text
    from ..tokens.rules import findings as token_findings

    file = _workspace_file(ctx.workspace, path)
    try:
        taken = read_token_file(str(file))
        analysis = taken.analyze()
    except TokenInputError as exc:
        raise ToolError(f"cannot read the tokens: {visible(str(exc))}") from None
    except NoTokens:
        raise ToolError("the file holds no tokens (one token per line)") from None
    found = token_findings(analysis, target=taken.collection.target, source="file")
    lines = [
        f"keywire analysed {len(taken.tokens)} token(s) from {visible(file.name)}: "
        f"{'weak' if analysis.weaknesses else 'no weakness found'}"
        + ("" if analysis.complete else f"; incomplete, {analysis.samples_wanted} samples needed"),
    ]
    if found:
        lines.append("Findings: " + ", ".join(f"{f.rule_id} ({f.severity.value})" for f in found))
    block = UntrustedBlock()
    block.heading("[report; tokens appear redacted]")
    for line in render_text(analysis, taken.collection, found).splitlines():
        block.add("line", line)
    return "\n".join([*lines, "", *block.render()]) + "\n"


def _workspace_file(workspace: Path, path: str) -> Path:
    """``path`` (relative to the workspace, or absolute inside it), resolved, if it is a regular
    file inside the workspace; :class:`ToolError` otherwise (nothing outside is read)."""
    root = workspace.resolve()
    try:
        candidate = (root / Path(str(path)).expanduser()).resolve()
    except (OSError, RuntimeError, ValueError):
        raise ToolError("refused: not a usable path") from None
    if candidate != root and root not in candidate.parents:
        raise ToolError(
            f"refused: {quote(path, 200)} is outside the workspace the server was started in "
            f"({visible(str(root))}); only files in it are read"
        )
    if not candidate.is_file():
        raise ToolError(f"no such file in the workspace: {quote(path, 200)}")
    return candidate


def allowed_targets(ctx: McpContext) -> str:
    from .policy import describe

    return "\n".join(describe(ctx.policy)) + "\n"
