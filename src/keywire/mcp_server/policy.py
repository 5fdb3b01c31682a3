"""What the MCP server may do, as the user configured it: which targets, which credentials, how often.

A model reads text from anywhere, and text can talk it into anything, so the user decides and the
model only asks:

- **Targets**: an allowlist of URL prefixes, from ``[mcp] allow`` in the configuration file and
  the ``KEYWIRE_MCP_ALLOW`` environment variable (comma-separated). Nothing is allowed when both
  are unset or empty, loopback and private ranges included. Matching is exact on normalised URLs:
  the same scheme, host and port, and a path that is the prefix's path or lies below it on a
  ``/`` boundary, so ``http://127.0.0.1:8000`` allows ``http://127.0.0.1:8000/v1`` but neither
  ``http://127.0.0.1:80001`` nor ``http://127.0.0.1:8000@evil`` nor ``http://127.0.0.1:8000x``.
  A scan's connections are confined to the allowlist's hosts as well (:class:`AllowlistResolver`),
  so a redirect to another host is never followed there.
- **Credentials**: never from the model. ``[[mcp.credentials]]`` entries name a header, an
  environment variable holding its value and the URL prefix it belongs to; a scan the model asks
  to run ``with_credentials`` gets the entries whose prefix matches its target.
- **Rate**: at most ``scans-per-minute`` scans (default 6) in any 60 seconds, one at a time.

>>> allow = Allowlist.parse(["http://127.0.0.1:8000"])
>>> allow.permits("http://127.0.0.1:8000/v1/resource")
True
>>> [allow.permits(u) for u in ("http://127.0.0.1:80001/", "http://127.0.0.1:8000@evil/")]
[False, False]
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from urllib.parse import unquote, urlsplit

from .._dataclass import dataclass
from ..net.resolver import ResolutionError, Resolver

ALLOW_ENV = "KEYWIRE_MCP_ALLOW"
DEFAULT_SCANS_PER_MINUTE = 6
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Percent-escapes of unreserved characters mean the same character (RFC 3986 6.2.2.2); anything
# else (an escaped "/" above all) stays escaped and so never matches a prefix's plain "/".
_UNRESERVED = re.compile(r"%(2[dD]|2[eE]|5[fF]|7[eE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])")


class PolicyError(ValueError):
    """A URL, an allowlist entry or a credential entry the policy cannot accept."""


@dataclass(frozen=True)
class NormalUrl:
    """An http(s) URL reduced to what matching looks at."""

    scheme: str
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if _DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"

    def covers(self, other: NormalUrl) -> bool:
        """Whether ``other`` lies at or below this prefix."""
        if (self.scheme, self.host, self.port) != (other.scheme, other.host, other.port):
            return False
        base = self.path.rstrip("/")
        return other.path == base or other.path.startswith(base + "/") or not base


def normalise_url(raw: str, *, what: str = "URL") -> tuple[NormalUrl, str]:
    """The normalised form of ``raw`` and its query (``""`` if none); :class:`PolicyError` for
    anything that is not a plain http(s) URL (credentials in it, a bad port, a fragment trick).

    >>> str(normalise_url("HTTP://Example.COM.:80/a/./b/../c")[0])
    'http://example.com/a/c'
    """
    text = raw.strip()
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise PolicyError(f"{what}: spaces and control characters are not allowed")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise PolicyError(f"{what}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise PolicyError(f"{what}: only http:// and https:// URLs")
    if "@" in parts.netloc:
        raise PolicyError(f"{what}: credentials in the URL are refused")
    if parts.fragment or text.endswith("#"):
        raise PolicyError(f"{what}: a fragment (#...) is not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host or "%" in host:
        raise PolicyError(f"{what}: no valid host")
    if port == 0:
        raise PolicyError(f"{what}: port 0 is not a port")
    return NormalUrl(
        scheme, _host(host, what), port or _DEFAULT_PORTS[scheme], _path(parts.path)
    ), (parts.query)


def _host(host: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise PolicyError(f"{what}: invalid host name") from None


def _path(path: str) -> str:
    """RFC 3986 normalisation: unreserved escapes decoded, dot segments removed."""
    path = _UNRESERVED.sub(lambda m: unquote(m.group(0)), path or "/")
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
            continue
        if segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


@dataclass(frozen=True)
class Allowlist:
    """URL prefixes a scan's target must lie under. Empty: nothing is allowed."""

    prefixes: tuple[NormalUrl, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str], *, source: str = "allowlist") -> Allowlist:
        prefixes = []
        for entry in entries:
            if not entry.strip():
                continue
            prefix, query = normalise_url(entry, what=f"{source} entry {entry.strip()!r}")
            if query:
                raise PolicyError(f"{source} entry {entry.strip()!r}: a prefix has no query")
            prefixes.append(prefix)
        return cls(tuple(dict.fromkeys(prefixes)))

    def match(self, url: str | NormalUrl) -> NormalUrl | None:
        """The prefix ``url`` lies under, or None (also for a URL that cannot be normalised)."""
        if isinstance(url, str):
            try:
                url = normalise_url(url)[0]
            except PolicyError:
                return None
        return next((p for p in self.prefixes if p.covers(url)), None)

    def permits(self, url: str | NormalUrl) -> bool:
        return self.match(url) is not None

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(p.host for p in self.prefixes)

    def __bool__(self) -> bool:
        return bool(self.prefixes)


@dataclass(frozen=True)
class CredentialEntry:
    """A header whose value is read from an environment variable, for targets under a prefix."""

    header: str
    env: str
    prefix: NormalUrl


@dataclass(frozen=True)
class McpPolicy:
    """Everything the user configured for the MCP server (see the module docstring)."""

    allow: Allowlist = field(default_factory=Allowlist)
    credentials: tuple[CredentialEntry, ...] = ()
    scans_per_minute: int = DEFAULT_SCANS_PER_MINUTE

    def headers_for(self, url: NormalUrl, environ: Mapping[str, str]) -> dict[str, str]:
        """The configured credential headers for ``url``; :class:`PolicyError` (naming the
        variable, never a value) when one that applies is unset."""
        headers = {}
        for entry in self.credentials:
            if not entry.prefix.covers(url):
                continue
            value = environ.get(entry.env, "").strip(" \t")
            if not value:
                raise PolicyError(
                    f"the credential for {entry.prefix} is configured from the environment "
                    f"variable {entry.env}, which is not set where the MCP server runs"
                )
            headers[entry.header] = value
        return headers


@dataclass(frozen=True)
class McpSettings:
    """The ``[mcp]`` table of a configuration file, checked."""

    allow: tuple[str, ...] = ()
    credentials: tuple[CredentialEntry, ...] = ()
    scans_per_minute: int = DEFAULT_SCANS_PER_MINUTE


_MCP_KEYS = ("allow", "credentials", "scans-per-minute")
_CREDENTIAL_KEYS = ("header", "env", "prefix")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

ErrorAt = Callable[[tuple[str | int, ...], str], Exception]


def read_mcp_table(value: object, error: ErrorAt) -> McpSettings:
    """Check a configuration file's ``[mcp]`` table; ``error(where, message)`` makes the
    exception that names the file and line."""
    if not isinstance(value, Mapping):
        raise error((), "[mcp] must be a table")
    for key in value:
        if key not in _MCP_KEYS:
            raise error((key,), f"unknown key '{key}' in [mcp]; known: {', '.join(_MCP_KEYS)}")
    allow = value.get("allow", [])
    if isinstance(allow, str):
        allow = [allow]
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise error(("allow",), "'allow' must be a list of URL prefixes")
    try:
        Allowlist.parse(allow, source="[mcp] allow")
    except PolicyError as exc:
        raise error(("allow",), str(exc)) from None
    rate = value.get("scans-per-minute", DEFAULT_SCANS_PER_MINUTE)
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 600:
        raise error(("scans-per-minute",), "'scans-per-minute' must be an integer from 1 to 600")
    entries = value.get("credentials", [])
    if not isinstance(entries, list):
        raise error(("credentials",), "'credentials' must be an array of tables")
    credentials = [_credential(item, index, error) for index, item in enumerate(entries)]
    return McpSettings(allow=tuple(allow), credentials=tuple(credentials), scans_per_minute=rate)


def _credential(item: object, index: int, error: ErrorAt) -> CredentialEntry:
    from ..credentials import check_credential_headers

    where: tuple[str | int, ...] = ("credentials", index)
    label = f"[[mcp.credentials]] #{index + 1}"
    if not isinstance(item, Mapping):
        raise error(where, f"{label} must be a table")
    for key in item:
        if key not in _CREDENTIAL_KEYS:
            raise error((*where, key), f"unknown key '{key}' in {label}")
    for key in _CREDENTIAL_KEYS:
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise error((*where, key), f"{label} needs '{key}' (a string)")
    header, env, prefix = (item[k].strip() for k in _CREDENTIAL_KEYS)
    if not _ENV_NAME.fullmatch(env):
        raise error((*where, "env"), f"{label}: 'env' must name an environment variable")
    try:
        check_credential_headers({header: "placeholder"})
        normal, query = normalise_url(prefix, what=f"{label} prefix")
    except (PolicyError, ValueError) as exc:
        raise error((*where, "prefix"), f"{label}: {exc}") from None
    if query:
        raise error((*where, "prefix"), f"{label}: a prefix has no query")
    if normal.scheme != "https":
        raise error(
            (*where, "prefix"), f"{label}: credentials are only sent over https://, not http://"
        )
    return CredentialEntry(header=header, env=env, prefix=normal)


def load_policy(settings: McpSettings | None, environ: Mapping[str, str]) -> McpPolicy:
    """The policy from the configuration file's ``[mcp]`` table and the environment."""
    settings = settings or McpSettings()
    from_env = [e for e in environ.get(ALLOW_ENV, "").split(",") if e.strip()]
    allow = Allowlist.parse([*settings.allow, *from_env], source="allowlist")
    return McpPolicy(
        allow=allow, credentials=settings.credentials, scans_per_minute=settings.scans_per_minute
    )


class RateLimiter:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit, self._window, self._clock = limit, window, clock
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """0 when an event may happen now (and it is counted); else the seconds to wait."""
        with self._lock:
            now = self._clock()
            while self._events and now - self._events[0] >= self._window:
                self._events.popleft()
            if len(self._events) >= self._limit:
                return self._window - (now - self._events[0])
            self._events.append(now)
            return 0.0


class AllowlistResolver:
    """A resolver that answers only for the allowlist's hosts: no connection of a scan goes
    anywhere else, whatever a redirect or a discovered link names."""

    def __init__(self, inner: Resolver, hosts: Iterable[str]) -> None:
        self._inner = inner
        self._hosts = frozenset(hosts)

    async def resolve(self, host: str) -> tuple[str, ...]:
        try:
            name = _host(host.strip("[]").rstrip("."), "host")
        except PolicyError:
            name = ""
        if name not in self._hosts:
            raise ResolutionError(f"{host} is not on the MCP server's allowlist: not contacted")
        return await self._inner.resolve(host)


def describe(policy: McpPolicy) -> Sequence[str]:
    """The policy in lines a person (or a model) can read; no credential value."""
    lines = [
        "Allowed targets (URL prefixes): "
        + (", ".join(str(p) for p in policy.allow.prefixes) or "none")
    ]
    for entry in policy.credentials:
        lines.append(f"Credential {entry.header} (from ${entry.env}) for {entry.prefix}")
    lines.append(f"At most {policy.scans_per_minute} scan(s) per minute, one at a time.")
    return lines
