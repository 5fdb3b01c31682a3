"""Configuration files: ``keywire.toml``, or ``[tool.keywire]`` in ``pyproject.toml``.

keywire looks in the current directory (``keywire.toml`` first, then a ``pyproject.toml`` that
has a ``[tool.keywire]`` table) unless given a file. Example (docs/reports.md has the reference)::

    targets = ["https://api.example.com/v1", "https://staging.example.com/v1"]
    fail-on = "medium"
    timeout = 5
    output = ["sarif:keywire.sarif"]
    skip-rules = ["KW145"]

    [severity]
    KW141 = "low"

    [[suppress]]
    rule = "KW140"
    target = "https://staging.example.com/*"
    reason = "staging is not reachable from the internet (SEC-123)"
    expires = 2026-06-30

Relative paths (``ca-file``, ``baseline``, ``output``) are relative to the file's directory.
Unknown keys, wrong types and malformed TOML are :class:`ConfigError`, whose message names the
file and the line.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._dataclass import dataclass
from ._models import Policy, Severity, Suppression
from ._tomlkeys import key_lines
from .options import OPTIONS, Option, report_formats
from .rules import RULES
from .scanoptions import ScanOptions


def _toml() -> Any:
    """The TOML parser, loaded when a configuration file is read."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # pragma: no cover - exercised on Python 3.10 only

    return tomli  # pragma: no cover


if TYPE_CHECKING:
    from .mcp_server.policy import McpSettings

MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """A configuration file is malformed or holds something keywire does not know."""


@dataclass(frozen=True, kw_only=True)
class Config:
    """A loaded configuration: default options (by their CLI names) and the policy for findings."""

    path: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    #: ``targets = [...]``: URLs ``keywire scan`` scans when given none (checked at scan time:
    #: a bad one is reported and skipped, like a bad line of a targets file).
    targets: tuple[str, ...] = ()
    #: The ``[mcp]`` table: what ``keywire mcp`` may scan (see :mod:`keywire.mcp_server.policy`).
    mcp: McpSettings | None = None

    def scan_options(self) -> ScanOptions:
        """:class:`~keywire.ScanOptions` with this file's defaults (others stay built-in)."""
        kwargs = {
            o.scan_field: self.options[o.name]
            for o in OPTIONS
            if o.scan_field and o.name in self.options
        }
        return ScanOptions(**kwargs)


def discover(directory: str | Path = ".") -> Path | None:
    """The configuration file keywire uses in ``directory``, if any."""
    directory = Path(directory)
    candidate = directory / "keywire.toml"
    if candidate.is_file():
        return candidate
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            document = _toml().loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, _toml().TOMLDecodeError):
            return pyproject  # let load() report the problem with its line
        if isinstance(document.get("tool"), dict) and "keywire" in document["tool"]:
            return pyproject
    return None


def load_config(path: str | Path) -> Config:
    """Read and check one configuration file (``pyproject.toml`` means its ``[tool.keywire]``)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    toml = _toml()
    try:
        document = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if where:
            message = message[: where.start()].strip()
            raise ConfigError(f"{path}:{where[1]}:{where[2]}: invalid TOML: {message}") from exc
        raise ConfigError(f"{path}: invalid TOML: {message}") from exc
    prefix: tuple[str | int, ...] = ()
    if path.name == "pyproject.toml":
        prefix = ("tool", "keywire")
        tool = document.get("tool", {})
        document = tool.get("keywire", {}) if isinstance(tool, dict) else {}
    return _Reader(path, text, prefix).read(document)


class _Reader:
    """Checks a decoded document, naming the line of anything wrong."""

    def __init__(self, path: Path, text: str, prefix: tuple[str | int, ...]) -> None:
        self.path = path
        self.base = path.resolve().parent
        self.prefix = prefix
        self.lines = key_lines(text)

    def error(self, where: tuple[str | int, ...], message: str) -> ConfigError:
        full = self.prefix + where
        for end in range(len(full), 0, -1):
            line = self.lines.get(full[:end])
            if line is not None:
                return ConfigError(f"{self.path}:{line}: {message}")
        return ConfigError(f"{self.path}: {message}")

    def read(self, document: Mapping[str, Any]) -> Config:
        if not isinstance(document, Mapping):
            raise self.error((), "[tool.keywire] must be a table")
        options: dict[str, Any] = {}
        policy_keys = {"skip-rules", "severity", "suppress"}
        known = set(_OPTIONS) | policy_keys | {"mcp", "targets"}
        for key, value in document.items():
            if key == "headers" or key == "header":
                raise self.error(
                    (key,),
                    f"'{key}' is not read from configuration files (they would hold secrets): "
                    "pass --header on the command line",
                )
            if key not in known:
                raise self.error((key,), _unknown(key, known, "key"))
            if key in _OPTIONS:
                options[key] = _OPTIONS[key](self, (key,), value)
        policy = Policy(
            skip_rules=self._rule_list(("skip-rules",), document.get("skip-rules", [])),
            severity=self._severity(document.get("severity", {})),
            suppressions=self._suppressions(document.get("suppress", [])),
            source=str(self.path),
        )
        targets = document.get("targets", [])
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise self.error(("targets",), "'targets' must be a list of URLs")
        mcp = None
        if "mcp" in document:
            from .mcp_server.policy import read_mcp_table

            mcp = read_mcp_table(
                document["mcp"], lambda where, msg: self.error(("mcp", *where), msg)
            )
        return Config(
            path=self.path, options=options, policy=policy, mcp=mcp, targets=tuple(targets)
        )

    def _rule_id(self, where: tuple[str | int, ...], value: object) -> str:
        if not isinstance(value, str) or value.strip().upper() not in RULES:
            raise self.error(where, f"unknown rule {value!r}; `keywire rules` lists them")
        return value.strip().upper()

    def _rule_list(self, where: tuple[str | int, ...], value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(where, f"'{where[-1]}' must be a list of rule IDs")
        return tuple(self._rule_id(where, v) for v in value)

    def _severity(self, value: object) -> dict[str, Severity]:
        if not isinstance(value, Mapping):
            raise self.error(("severity",), '[severity] must be a table of RULE = "severity"')
        overrides = {}
        for rule, severity in value.items():
            rule_id = self._rule_id(("severity", rule), rule)
            if severity not in [s.value for s in Severity]:
                raise self.error(
                    ("severity", rule),
                    f"severity of {rule} must be one of {', '.join(s.value for s in Severity)}",
                )
            overrides[rule_id] = Severity(severity)
        return overrides

    def _suppressions(self, value: object) -> tuple[Suppression, ...]:
        if not isinstance(value, list):
            raise self.error(("suppress",), "'suppress' must be an array of tables ([[suppress]])")
        out = []
        fields = {"rule", "target", "reason", "expires"}
        for index, item in enumerate(value):
            where: tuple[str | int, ...] = ("suppress", index)
            label = f"[[suppress]] #{index + 1}"
            if not isinstance(item, Mapping):
                raise self.error(where, f"{label} must be a table")
            for key in item:
                if key not in fields:
                    raise self.error((*where, key), _unknown(key, fields, f"key in {label}"))
            for key in ("rule", "target", "reason"):
                if key not in item:
                    raise self.error(where, f"{label} needs '{key}'")
            rule_id = self._rule_id((*where, "rule"), item["rule"])
            target = item["target"]
            if not isinstance(target, str) or not target.strip():
                raise self.error((*where, "target"), f"{label}: 'target' must be a URL pattern")
            reason = item["reason"]
            if not isinstance(reason, str) or not reason.strip():
                raise self.error((*where, "reason"), f"{label}: 'reason' must say why")
            expires = item.get("expires")
            if isinstance(expires, datetime):
                expires = expires.date()
            elif isinstance(expires, str):
                try:
                    expires = date.fromisoformat(expires)
                except ValueError:
                    expires = "invalid"
            if expires is not None and not isinstance(expires, date):
                raise self.error(
                    (*where, "expires"), f"{label}: 'expires' must be a date such as 2026-06-30"
                )
            line = self.lines.get(self.prefix + where)
            out.append(
                Suppression(
                    rule_id=rule_id,
                    target=target.strip(),
                    reason=reason.strip(),
                    expires=expires,
                    source=f"{self.path.name}:{line}" if line else self.path.name,
                )
            )
        return tuple(out)

    def path_value(self, value: str) -> str:
        return str((self.base / Path(value).expanduser()).resolve())


def _unknown(key: str, known: set[str], what: str) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{key}'{hint}"


def _choice(choices: Sequence[str]) -> Any:
    def check(reader: _Reader, where: tuple[str | int, ...], value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise reader.error(where, f"'{where[0]}' must be one of {', '.join(choices)}")
        return value

    return check


def _number(low: float, high: float, *, integer: bool) -> Any:
    def check(reader: _Reader, where: tuple[str | int, ...], value: object) -> float | int:
        ok = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok:
            ok = False
        elif low <= value <= high:
            return value
        kind = "an integer" if integer else "a number"
        raise reader.error(where, f"'{where[0]}' must be {kind} from {low:g} to {high:g}")

    return check


def _choices(choices: Sequence[str]) -> Any:
    def check(reader: _Reader, where: tuple[str | int, ...], value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise reader.error(where, f"'{where[0]}' must be a list of strings")
        for item in value:
            if item not in choices:
                raise reader.error(
                    where, f"'{where[0]}': unknown check {item!r}; choose from {', '.join(choices)}"
                )
        return tuple(value)

    return check


def _flag(reader: _Reader, where: tuple[str | int, ...], value: object) -> bool:
    if not isinstance(value, bool):
        raise reader.error(where, f"'{where[0]}' must be true or false")
    return value


def _path(reader: _Reader, where: tuple[str | int, ...], value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise reader.error(where, f"'{where[0]}' must be a file path")
    return reader.path_value(value)


def _outputs(reader: _Reader, where: tuple[str | int, ...], value: object) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise reader.error(where, "'output' must be a list of \"FORMAT:FILE\" strings")
    out = []
    for item in values:
        fmt, sep, file = item.partition(":")
        formats = report_formats()
        if not sep or fmt not in formats or not file:
            raise reader.error(
                where,
                f"'output' entry {item!r} must be FORMAT:FILE, FORMAT one of {', '.join(formats)}",
            )
        out.append(f"{fmt}:{file if file == '-' else reader.path_value(file)}")
    return tuple(out)


def _check_for(option: Option) -> Any:
    """The check of ``option``'s value in a file, from its row in the option table."""
    if option.name == "output":
        return _outputs
    if option.kind == "flag":
        return _flag
    if option.kind == "path":
        return _path
    if option.kind in ("number", "integer"):
        assert option.low is not None and option.high is not None
        return _number(option.low, option.high, integer=option.kind == "integer")
    if option.kind == "choice":
        return (_choices if option.multiple else _choice)(option.allowed())
    raise AssertionError(f"no configuration check for --{option.name}")  # pragma: no cover


_OPTIONS: dict[str, Any] = {o.name: _check_for(o) for o in OPTIONS if o.config}
"""Option keys a file may set, by their command-line names, with their checks."""
