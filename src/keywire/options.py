"""The option table: every command-line option, declared once.

One table, :data:`OPTIONS`, declares every command-line option once: its name (also its key in a
configuration file), its type and range, its default and help, the commands that take it, whether
a configuration file may set it (:mod:`keywire.config` derives its checks from the row) and which
:class:`~keywire.ScanOptions` field it fills. The command line (:mod:`keywire.cli`) turns the rows into
click options; nothing here imports click.

Adding an option is one row here (plus, when a scan should see it, a
:class:`~keywire.ScanOptions` field whose default is the row's, which ``tests/test_options.py``
holds the row to). This module is a data table; :mod:`keywire.scanoptions` holds the class.

>>> OPTION["timeout"].default, OPTION["timeout"].scan_field
(10.0, 'timeout')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ._dataclass import dataclass

if TYPE_CHECKING:
    pass

Kind = Literal["number", "integer", "flag", "choice", "text", "path", "count"]
Choices = tuple[str, ...] | Callable[[], Sequence[str]]

#: The commands that take table options.
COMMANDS = (
    "scan",
    "demo",
    "judge",
    "tokens",
    "watch",
    "history",
    "diff",
    "report",
    "mcp",
    "lint-spec",
    "worker",
)
#: The check group that only runs on spec-driven scans (``spec`` is its former name, still taken).
OPENAPI_GROUP = "openapi"
GROUP_ALIASES: Mapping[str, str] = MappingProxyType({"spec": OPENAPI_GROUP})


@dataclass(frozen=True, kw_only=True)
class Option:
    """One row of the table: an option as the command line, a configuration file and
    :class:`~keywire.ScanOptions` know it."""

    #: ``--NAME`` on the command line and ``NAME = …`` in a configuration file.
    name: str
    kind: Kind
    help: str
    commands: tuple[str, ...]
    default: Any = None
    low: float | None = None
    high: float | None = None
    #: Allowed values, or a function returning them (resolved when first needed).
    choices: Choices | None = None
    multiple: bool = False
    short: str | None = None
    #: The Python parameter name, when it is not NAME with underscores.
    dest: str | None = None
    metavar: str | None = None
    show_default: bool = False
    #: ``--NAME/--no-NAME`` (a flag whose default is on).
    negatable: bool = False
    #: A path that may be ``-`` (standard input).
    dash: bool = False
    #: A configuration file may set it.
    config: bool = False
    #: The :class:`~keywire.ScanOptions` field it fills.
    scan_field: str | None = None
    #: Per-command differences (another default, help or choices), by command.
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def param(self) -> str:
        """The parameter name commands receive."""
        return self.dest or self.name.replace("-", "_")

    def allowed(self) -> tuple[str, ...]:
        """The choices, resolved."""
        choices = self.choices
        if choices is None:
            return ()
        return tuple(choices() if callable(choices) else choices)

    def for_command(self, command: str) -> Option:
        """This row as ``command`` uses it (its overrides applied)."""
        changes = self.overrides.get(command)
        return dataclasses.replace(self, overrides={}, **changes) if changes else self


def selectable() -> tuple[str, ...]:
    """Check families and groups ``--only`` and ``--skip`` take (aliases included)."""
    from .registry import SELECTABLE  # the registry's static table: no family is imported

    return tuple(sorted({*SELECTABLE, *GROUP_ALIASES}))


def report_formats() -> tuple[str, ...]:
    from .reporters import FORMATS

    return tuple(FORMATS)


def token_formats() -> tuple[str, ...]:
    from .tokens.report import FORMATS

    return tuple(FORMATS)


def compliance_frameworks() -> tuple[str, ...]:
    from .compliance import FRAMEWORKS

    return tuple(sorted(FRAMEWORKS))


def severity_choices() -> tuple[str, ...]:
    from ._models import Severity

    return (*(s.value for s in Severity), "none")


_SCAN, _BOTH, _ALL = ("scan",), ("scan", "demo"), ("scan", "demo", "tokens")
#: ``keywire watch`` scans like ``keywire scan``: it takes scan's options for reaching targets.
_SCANNING = ("scan", "watch")
#: The commands that read or keep the history store.
_STORE = ("scan", "watch", "history", "diff", "report", "mcp")

OPTIONS: tuple[Option, ...] = (
    # What to scan.
    Option(
        name="resume",
        kind="path",
        metavar="FILE.jsonl",
        commands=_SCAN,
        help="Resume an interrupted scan: skip the targets whose records FILE (a --format jsonl "
        "stream) already holds, and append the others' records to it.",
    ),
    Option(
        name="spec",
        kind="text",
        commands=_SCAN,
        metavar="FILE|URL",
        scan_field="spec",
        help="OpenAPI 3.x or Swagger 2.0 description (JSON or YAML) whose GET/HEAD endpoints to "
        "scan; TARGETS, if given, replace its servers.",
    ),
    Option(
        name="max-endpoints",
        kind="integer",
        low=1,
        high=10000,
        default=50,
        show_default=True,
        commands=_SCAN,
        scan_field="max_endpoints",
        help="At most this many endpoints of --spec are probed.",
    ),
    Option(
        name="from",
        kind="text",
        dest="source_spec",
        metavar="SOURCE",
        commands=("tokens",),
        help="Where the token is: cookie:NAME, header:NAME, json:PATH or body:REGEX.",
    ),
    Option(
        name="samples",
        kind="integer",
        low=1,
        high=100_000,
        commands=("tokens",),
        help="Tokens to collect. Default: what every test needs for the tokens seen (100 first, "
        "then up to 2,000; e.g. 157 for 128-bit hex, 625 for 32-bit numbers).",
    ),
    Option(
        name="method",
        kind="choice",
        choices=("GET", "HEAD"),
        default="GET",
        show_default=True,
        commands=("tokens",),
        help="Request method (read-only methods only).",
    ),
    Option(
        name="rate",
        kind="text",
        default="5",
        show_default=True,
        commands=("tokens",),
        help="Requests per second (e.g. 5 or 5/s).",
    ),
    Option(
        name="max-time",
        kind="number",
        low=1,
        high=86400,
        default=600.0,
        show_default=True,
        commands=("tokens",),
        help="Stop collecting after this many seconds.",
    ),
    Option(
        name="file",
        kind="path",
        dash=True,
        dest="token_file",
        commands=("tokens",),
        help="Analyse tokens from FILE (one per line, in issue order; '-' for stdin).",
    ),
    Option(
        name="sampled-at",
        kind="text",
        commands=("tokens",),
        help="When the file's tokens were collected (Unix time or ISO 8601; default: the file's "
        "mtime).",
    ),
    Option(
        name="time-window",
        kind="number",
        low=0,
        high=7 * 86400,
        default=3600.0,
        show_default=True,
        commands=("tokens",),
        help="Seconds either side of the sampling time searched for time-seeded generators.",
    ),
    Option(
        name="alpha",
        kind="number",
        low=1e-12,
        high=0.1,
        default=1e-6,
        show_default=True,
        commands=("tokens",),
        help="Family-wise significance level of the statistical tests.",
    ),
    # Which checks.
    Option(
        name="only",
        kind="choice",
        choices=selectable,
        multiple=True,
        default=(),
        commands=(*_BOTH, "watch"),
        config=True,
        scan_field="only",
        help="Run only these checks or groups.",
    ),
    Option(
        name="skip",
        kind="choice",
        choices=selectable,
        multiple=True,
        default=(),
        commands=(*_BOTH, "watch"),
        config=True,
        scan_field="skip",
        help="Skip these checks or groups.",
    ),
    # How to reach the targets.
    Option(
        name="header",
        kind="text",
        short="-H",
        dest="headers",
        multiple=True,
        commands=("scan", "tokens", "watch", "worker"),
        help="'Name: value' credential header, sent only over verified HTTPS to the target host.",
        overrides={
            "tokens": {
                "help": "'Name: value' credential header, sent only over verified HTTPS to the "
                "URL's origin."
            },
            "worker": {
                "help": "'Name: value' credential this worker sends when a scan names header "
                "Name (scans never carry the value)."
            },
        },
    ),
    Option(
        name="header-env",
        kind="text",
        dest="header_envs",
        multiple=True,
        metavar="NAME=VAR",
        commands=(*_SCANNING, "worker"),
        help="Like --header, with the value read from environment variable VAR (not shell "
        "history).",
    ),
    Option(
        name="ca-file",
        kind="path",
        commands=("scan", "tokens", "watch"),
        config=True,
        scan_field="ca_file",
        help="Extra trusted CA certificates (PEM).",
    ),
    Option(
        name="http-port",
        kind="integer",
        low=1,
        high=65535,
        commands=_SCANNING,
        config=True,
        scan_field="http_port",
        help="Port of the cleartext side of https:// targets.",
    ),
    Option(
        name="https-port",
        kind="integer",
        low=1,
        high=65535,
        commands=_SCANNING,
        config=True,
        scan_field="https_port",
        help="Port of the HTTPS side of http:// targets.",
    ),
    Option(
        name="per-host",
        kind="integer",
        low=1,
        high=50,
        default=5,
        show_default=True,
        commands=_SCANNING,
        config=True,
        scan_field="per_host",
        help="Concurrent connections per server (resolved address and port), whatever names "
        "lead to it.",
    ),
    Option(
        name="resolve",
        kind="text",
        multiple=True,
        metavar="HOST:PORT:ADDRESS",
        commands=_SCAN,
        scan_field="resolve",
        help="Reach HOST at ADDRESS instead of what DNS says (curl's convention), with HOST in "
        "SNI, Host and certificate checks: staging, an origin behind a CDN, a lab. Repeatable.",
    ),
    Option(
        name="max-connections",
        kind="integer",
        low=1,
        high=10000,
        default=64,
        show_default=True,
        commands=_SCAN,
        config=True,
        scan_field="max_connections",
        help="Connections open at once in the whole scan (shared by all workers).",
    ),
    Option(
        name="max-targets",
        kind="integer",
        low=1,
        high=10000,
        default=16,
        show_default=True,
        commands=_SCAN,
        config=True,
        scan_field="max_targets",
        help="Targets scanned at once (shared by all workers).",
    ),
    Option(
        name="retries",
        kind="integer",
        low=0,
        high=10,
        default=1,
        show_default=True,
        commands=_SCAN,
        config=True,
        scan_field="retries",
        help="Retries, with exponential backoff, of a request whose connection failed before "
        "any answer (reset, closed, out of local ports); never of an answer.",
    ),
    Option(
        name="workers",
        kind="integer",
        low=1,
        high=256,
        metavar="N",
        commands=_SCAN,
        config=True,
        help="Processes that scan targets side by side (default: the CPU count; a small scan "
        "uses fewer, a --spec scan one).",
    ),
    Option(
        name="broker",
        kind="text",
        metavar="URL",
        commands=("scan", "worker"),
        help="Scan on keywire workers through this Redis broker (redis://HOST:PORT/DB, rediss:// "
        "for TLS) instead of in this machine's processes; needs keywire[distributed].",
        overrides={
            "worker": {
                "help": "The Redis broker: redis://HOST:PORT/DB, rediss://… for TLS (default: "
                "$KEYWIRE_BROKER; the password may come from $KEYWIRE_BROKER_PASSWORD)."
            }
        },
    ),
    Option(
        name="processes",
        kind="integer",
        low=1,
        high=256,
        default=1,
        show_default=True,
        metavar="N",
        commands=("worker",),
        help="Worker processes (more than 1: this one supervises them and restarts any that dies).",
    ),
    Option(
        name="threads",
        kind="integer",
        low=1,
        high=1024,
        default=8,
        show_default=True,
        metavar="N",
        commands=("worker",),
        help="Targets each worker process scans at once.",
    ),
    Option(
        name="heartbeat-timeout",
        kind="number",
        low=1,
        high=3600,
        default=15.0,
        show_default=True,
        metavar="SECONDS",
        commands=("worker",),
        help="A worker silent this long is taken for dead and its messages are delivered again.",
    ),
    Option(
        name="offline",
        kind="flag",
        default=False,
        commands=_SCANNING,
        config=True,
        scan_field="offline",
        help="Send nothing beyond the scanned hosts: no fetch from the OCSP responders or CRLs "
        "that certificates name (revocation is then read from stapled OCSP responses only).",
    ),
    Option(
        name="vulnerability-probes",
        kind="flag",
        default=True,
        negatable=True,
        show_default=True,
        commands=_SCAN,
        config=True,
        scan_field="vulnerability_probes",
        help="Probe TLS for Heartbleed, CCS injection and ROBOT (harmless probes, described in "
        "docs/vulnerability-probes.md); --no-vulnerability-probes records them as skipped.",
    ),
    Option(
        name="timeout",
        kind="number",
        low=0.1,
        high=600,
        default=10.0,
        show_default=True,
        commands=(*_ALL, "watch"),
        config=True,
        scan_field="timeout",
        help="Seconds per request.",
    ),
    Option(
        name="target-timeout",
        kind="number",
        low=1,
        high=86400,
        default=300.0,
        show_default=True,
        commands=(*_BOTH, "watch"),
        config=True,
        scan_field="target_timeout",
        help="Seconds for each target, from when it starts; what is still running then is "
        "reported as not tested, and the scan goes on.",
    ),
    Option(
        name="scan-timeout",
        kind="number",
        low=1,
        high=30 * 86400,
        commands=(*_BOTH, "watch"),
        config=True,
        scan_field="scan_timeout",
        help="Seconds for the whole scan (default: no limit); targets not finished by then are "
        "reported as not scanned or not tested.",
        overrides={
            "watch": {
                "help": "Seconds for each batch of targets (see --batch).",
                "default": 300.0,
                "show_default": True,
            }
        },
    ),
    # The history store and the watch (docs/history.md).
    Option(
        name="store",
        kind="path",
        metavar="FILE",
        commands=_STORE,
        help="The history store (SQLite). Default: $KEYWIRE_STORE, else "
        "$XDG_DATA_HOME/keywire/keywire.db (~/.local/share/keywire/keywire.db).",
    ),
    Option(
        name="no-store",
        kind="flag",
        default=False,
        commands=(*_SCAN, "mcp"),
        help="Do not record the scan in the history store.",
    ),
    Option(
        name="input",
        kind="path",
        short="-i",
        dest="inputs",
        dash=True,
        multiple=True,
        metavar="FILE",
        commands=_SCANNING,
        help="A targets file: one URL per line, blank lines and # comments ignored ('-' reads "
        "stdin); a bad line is reported with its number and skipped, duplicates are scanned "
        "once. Repeatable.",
    ),
    Option(
        name="every",
        kind="text",
        default="6h",
        show_default=True,
        commands=("watch",),
        help="Time between cycles: 90s, 30m, 6h, 1d.",
    ),
    Option(
        name="once",
        kind="flag",
        default=False,
        commands=("watch",),
        help="Run one cycle (or finish an interrupted one) and exit.",
    ),
    Option(
        name="batch",
        kind="integer",
        low=1,
        high=64,
        default=4,
        show_default=True,
        commands=("watch",),
        help="Targets scanned at once (what SIGTERM waits for).",
    ),
    Option(
        name="alert-on",
        kind="choice",
        choices=lambda: severity_choices()[:-1],
        default="medium",
        show_default=True,
        commands=("watch",),
        help="New findings at least this severe raise an alert.",
    ),
    Option(
        name="expiry-days",
        kind="text",
        default="30,14,7",
        show_default=True,
        commands=("watch",),
        help="Certificate expiry thresholds in days; each raises one alert.",
    ),
    Option(
        name="webhook",
        kind="text",
        metavar="URL",
        commands=("watch",),
        help="Send each alert to URL, signed as Standard Webhooks say.",
    ),
    Option(
        name="webhook-secret-env",
        kind="text",
        metavar="VAR",
        commands=("watch",),
        help="The environment variable holding the signing secret (whsec_...); never printed.",
    ),
    Option(
        name="webhook-format",
        kind="choice",
        choices=("standard", "slack"),
        default="standard",
        show_default=True,
        commands=("watch",),
        help="slack: a Slack incoming-webhook message.",
    ),
    Option(
        name="webhook-timeout",
        kind="number",
        low=1,
        high=120,
        default=15.0,
        show_default=True,
        commands=("watch",),
        help="Seconds a receiver has to answer.",
    ),
    Option(
        name="limit",
        kind="integer",
        low=1,
        high=100_000,
        default=20,
        show_default=True,
        commands=("history",),
        help="Results shown per target, newest first.",
    ),
    Option(
        name="target",
        kind="text",
        dest="targets",
        multiple=True,
        metavar="URL",
        commands=("diff",),
        help="Only this target (repeatable).",
    ),
    # The report and the gate.
    Option(
        name="format",
        kind="choice",
        choices=report_formats,
        dest="fmt",
        default="console",
        show_default=True,
        commands=(*_ALL, "history", "diff", "report", "lint-spec", "judge"),
        config=True,
        help="Report format written to stdout (or --output).",
        overrides={
            "tokens": {"choices": token_formats},
            "history": {"choices": ("console", "json", "markdown")},
            "diff": {
                "choices": ("console", "json", "markdown"),
                "help": "Format written to stdout (or --output); markdown is for a pull-request "
                "comment.",
            },
            "report": {"choices": ("html", "json"), "default": "html"},
        },
    ),
    Option(
        name="output",
        kind="text",
        short="-o",
        multiple=True,
        metavar="[FORMAT:]FILE",
        commands=(*_ALL, "history", "diff", "report", "lint-spec", "judge"),
        config=True,
        help="Write a report to FILE: in --format if given, else as FILE's extension says "
        "(.json .sarif .html .md .xml .txt); FORMAT:FILE names the format ('-' is stdout). "
        "Repeat for several formats, e.g. -o keywire.sarif -o report.html. The directory must "
        "exist; files are replaced atomically.",
        overrides={
            "tokens": {
                "dest": "outputs",
                "help": "Write a report to FILE: in --format if given, else as FILE's extension "
                "says (.json .html .txt); FORMAT:FILE names the format ('-' is stdout). Repeat "
                "for several formats, e.g. -o tokens.json -o tokens.html.",
            },
            **{
                command: {
                    "multiple": False,
                    "metavar": "FILE",
                    "help": "Write to FILE (replaced atomically) instead of stdout.",
                }
                for command in ("history", "diff", "report")
            },
        },
    ),
    Option(
        name="save-observations",
        kind="path",
        commands=_SCAN,
        metavar="FILE",
        scan_field="save_observations",
        help="Also write what the checks judged to FILE (JSON Lines; secrets, your header values "
        "and the canary are scrubbed): `keywire judge FILE` grades it again, with today's "
        "rules and no network.",
    ),
    Option(
        name="fail-on",
        kind="choice",
        choices=severity_choices,
        default="high",
        show_default=True,
        commands=(*_ALL, "diff", "lint-spec", "judge"),
        config=True,
        help="Exit 1 if any finding is at least this severe ('none' disables).",
        overrides={
            "tokens": {
                "default": "low",
                "help": "Exit 1 if any weakness is at least this severe ('none' disables).",
            },
            "diff": {
                "default": "none",
                "help": "Exit 1 if a new finding is at least this severe ('none': never).",
            },
            # A linter in a pre-commit hook: what a spec declares is fixed before it ships.
            "lint-spec": {"default": "medium"},
        },
    ),
    Option(
        name="fail-under",
        kind="integer",
        low=0,
        high=100,
        commands=(*_BOTH, "judge"),
        config=True,
        help="Exit 1 if the overall score is below this.",
    ),
    Option(
        name="baseline",
        kind="path",
        commands=(*_BOTH, "judge"),
        config=True,
        help="A previous JSON report: mark findings new, unchanged or fixed.",
    ),
    Option(
        name="fail-on-new",
        kind="flag",
        default=False,
        commands=(*_BOTH, "judge"),
        config=True,
        help="Apply --fail-on to findings that are new since --baseline only.",
    ),
    Option(
        name="allow-incomplete",
        kind="flag",
        default=False,
        commands=(*_ALL, "judge"),
        config=True,
        help="Judge an incomplete scan (a target not scanned, a check not tested) on what was "
        "tested instead of exiting 3.",
        overrides={
            "tokens": {
                "help": "Exit 0, not 3, when no weakness was found but some tests needed more "
                "samples."
            }
        },
    ),
    Option(
        name="framework",
        kind="choice",
        choices=compliance_frameworks,
        commands=(*_BOTH, "judge"),
        help="Also group the console, Markdown and HTML reports by the requirements of this "
        "compliance framework (JSON and SARIF always carry every mapping).",
    ),
    # The command itself.
    Option(
        name="config",
        kind="path",
        commands=(*_BOTH, "watch", "mcp", "lint-spec", "judge"),
        help="Configuration file (default: ./keywire.toml, or [tool.keywire] in ./pyproject.toml).",
    ),
    Option(
        name="no-config",
        kind="flag",
        default=False,
        commands=(*_BOTH, "watch", "mcp", "lint-spec", "judge"),
        help="Do not read any configuration file.",
    ),
    Option(
        name="verbose",
        kind="count",
        short="-v",
        default=0,
        commands=(*_ALL, "watch", "judge", "worker"),
        help="Log to stderr (-vv for debug).",
    ),
    Option(
        name="progress-every",
        kind="number",
        low=1,
        high=3600,
        default=10.0,
        show_default=True,
        commands=_SCAN,
        config=True,
        help="Seconds between progress lines when stderr is not a terminal (CI logs); on a "
        "terminal progress is one live line.",
    ),
    Option(
        name="workspace",
        kind="text",
        commands=("mcp",),
        metavar="DIR",
        help="The directory analyse_tokens may read token files from (default: the current "
        "directory).",
    ),
    Option(
        name="quiet",
        kind="flag",
        short="-q",
        commands=(*_ALL, "mcp", "lint-spec", "judge"),
        help="Print nothing on stderr but errors and warnings (no progress, no closing line "
        "when the gate passes).",
    ),
)
"""Every option of every command, in the order ``--help`` lists them."""

OPTION: Mapping[str, Option] = MappingProxyType({o.name: o for o in OPTIONS})
"""The table by option name."""


def options_for(command: str) -> tuple[Option, ...]:
    """The rows ``command`` takes, as it takes them."""
    return tuple(o.for_command(command) for o in OPTIONS if command in o.commands)
