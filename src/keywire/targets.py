"""Scan targets: parsing what the user typed, and finding a target's other-scheme counterpart.

A target is an ``http://`` or ``https://`` URL. keywire checks both sides of an API: the HTTPS
endpoint and its cleartext counterpart, because a key sent to the wrong one has already crossed the
wire. On default ports the counterpart is implied (443 ↔ 80); elsewhere the user names the port.

>>> t = parse_target("https://api.example.com/v1/resource")
>>> t.http_url, t.https_url
('http://api.example.com/v1/resource', 'https://api.example.com/v1/resource')
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ._dataclass import dataclass
from .redact import credential_parameters

DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetError(ValueError):
    """The user's target is not something keywire can scan (a usage error)."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """One URL to scan, with its counterpart on the other scheme when one is known."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    http_url: str | None
    https_url: str | None
    counterpart_note: str = ""
    #: The only origin the user's credentials may go to: the HTTPS side the user named, or
    #: implied (443 for a target on 80, or ``--https-port``). Fixed when the target is parsed.
    credentials_origin: str | None = None
    #: The HTTPS side is only assumed (port 443 for an http:// target on port 80), not given: a
    #: redirect from the API to HTTPS on another port of the same host takes precedence.
    https_implied: bool = False

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

    @property
    def origin(self) -> str:
        return _build(self.scheme, self.host, self.port, "/")[:-1]

    def https_url_on(self, port: int) -> str:
        """This target's path and query on ``https://`` at ``port`` of the same host."""
        return _build("https", self.host, port, "/")[:-1] + self.path


def origin_of(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL, the port always written, host lowercased;
    None for anything else. Two URLs share an origin when these strings are equal.

    >>> origin_of("https://API.example/v1?x=1"), origin_of("https://api.example:443/")
    ('https://api.example:443', 'https://api.example:443')
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return f"{scheme}://{_format_host(host)}:{port or DEFAULT_PORTS[scheme]}"


def location_problem(location: str) -> str | None:
    """Why no HTTP client can follow ``location`` (an absolute URL), or None when one can.

    The reason is a fixed phrase: it never quotes the value, which came from the target.

    >>> location_problem("javascript:alert(1)")
    "its scheme is 'javascript', not http or https"
    >>> location_problem("https://api.example:99999/") is None
    False
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        return "it contains control characters"
    try:
        parts = urlsplit(location)
    except ValueError:
        return "it is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme.lower()[:20]
        return f"its scheme is {scheme!r}, not http or https" if scheme else "it has no scheme"
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if not parts.hostname:
        return "it has no host"
    if any(c.isspace() for c in parts.hostname):
        return "its host is not a valid name"
    return None


def _format_host(host: str) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def _build(scheme: str, host: str, port: int, path: str) -> str:
    netloc = _format_host(host)
    if port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, path, "", ""))


def parse_target(
    raw: str, *, http_port: int | None = None, https_port: int | None = None
) -> Target:
    """Parse and normalise a target URL; raise :class:`TargetError` with a one-line reason.

    ``http_port``/``https_port`` name the counterpart's port when the target is not on a default
    port (for example a lab with HTTPS on 8443 and HTTP on 8080).
    """
    text = raw.strip()
    if not text:
        raise TargetError("empty target")
    if "://" not in text:
        raise TargetError(
            f"{_safe(raw)} is not a URL: give it as http://host/path or https://host/path"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"{_safe(raw)} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise TargetError(
            f"{_safe(raw)}: unsupported scheme {_quoted(parts.scheme)} (use http or https)"
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetError(f"{_safe(raw)} has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetError(
            f"{_safe(raw)}: credentials in the URL are refused; pass them with --header"
        )
    if any(c.isspace() for c in host) or "%" in host:
        raise TargetError(f"{_safe(raw)}: invalid host {_quoted(host)}")
    try:
        host = host.encode("idna").decode("ascii").lower() if not _is_ip(host) else host
    except UnicodeError:
        raise TargetError(f"{_safe(raw)}: invalid host name {_quoted(host)}") from None
    if port == 0:
        raise TargetError(f"{_safe(raw)}: port 0 is not a port a server listens on")
    in_query = credential_parameters(parts.query)
    if in_query:
        raise TargetError(
            f"{_safe(raw)}: a credential in the query string ({', '.join(in_query)}) is refused: "
            "URLs end up in logs and reports, and the http:// side would carry it in cleartext; "
            "pass it with --header (e.g. --header 'X-API-Key: ...') or --header-env"
        )
    port = port or DEFAULT_PORTS[scheme]
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    url = _build(scheme, host, port, parts.path or "/")
    if parts.query:
        url = f"{url}?{parts.query}"

    http_url: str | None = None
    https_url: str | None = None
    note = ""
    implied = False
    suffix = path
    if scheme == "https":
        https_url = url
        if http_port is not None:
            http_url = _build("http", host, http_port, "/")[:-1] + suffix
        elif port == 443:
            http_url = _build("http", host, 80, "/")[:-1] + suffix
        else:
            note = "HTTPS on a non-default port: pass --http-port to check its cleartext side"
    else:
        http_url = url
        if https_port is not None:
            https_url = _build("https", host, https_port, "/")[:-1] + suffix
        elif port == 80:
            https_url = _build("https", host, 443, "/")[:-1] + suffix
            implied = True
        else:
            note = "HTTP on a non-default port: pass --https-port to check its HTTPS side"
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        http_url=http_url,
        https_url=https_url,
        counterpart_note=note,
        credentials_origin=origin_of(https_url) if https_url is not None else None,
        https_implied=implied,
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: Longer values are cut where an error message quotes them (a hostile targets file can hold
#: lines of thousands of characters; the message only needs to say which one).
QUOTE_CHARS = 120


def _quoted(text: str) -> str:
    """``repr(text)``, cut to :data:`QUOTE_CHARS` with how much was left out."""
    if len(text) <= QUOTE_CHARS:
        return repr(text)
    return f"{text[:QUOTE_CHARS]!r}… ({len(text) - QUOTE_CHARS} more characters)"


def _safe(raw: str) -> str:
    from .redact import redact_url

    return _quoted(redact_url(raw))
