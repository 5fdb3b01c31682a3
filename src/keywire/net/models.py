"""What an HTTP exchange produces: a response, or a failure with a kind; redirect chains.

Plain frozen values (the observations checks judge), apart from the client that makes them
(:mod:`keywire.net.http`), which re-exports them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import field
from urllib.parse import urljoin, urlsplit

from .._dataclass import dataclass
from .._version import __version__

USER_AGENT = f"keywire/{__version__} (+https://github.com/keywire/keywire)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_BODY_CAP = 1024 * 1024


class FailureKind(enum.Enum):
    """Why an exchange produced no response."""

    DNS = "dns"
    REFUSED = "refused"
    CONNECT_TIMEOUT = "connect_timeout"
    TIMEOUT = "timeout"
    CERTIFICATE = "certificate"
    TLS = "tls"
    RESET = "reset"
    PROTOCOL = "protocol"
    POLICY = "policy"
    OTHER = "other"


@dataclass(frozen=True, kw_only=True)
class TlsInfo:
    """What the TLS layer of an HTTPS exchange negotiated, and whether the chain verified."""

    version: str
    cipher: str
    verified: bool
    verify_error: str = ""


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    """One request and the response it got. ``body`` is capped and never serialized."""

    url: str
    method: str
    probe: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = field(repr=False)
    body_truncated: bool
    http_version: str
    elapsed_s: float
    tls: TlsInfo | None = None
    sent_credentials: bool = False

    @property
    def is_redirect(self) -> bool:
        return self.status in REDIRECT_STATUSES and self.header("location") is not None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        lowered = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == lowered)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str | None:
        """The absolute URL of the ``Location`` header, if any."""
        value = self.header("location")
        if value is None:
            return None
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            # As sent: urljoin would quietly drop some of them, and no client accepts any.
            return value
        try:
            return urljoin(self.url, value.strip())
        except ValueError:
            return value.strip()


@dataclass(frozen=True, kw_only=True)
class FetchFailure:
    """An exchange that produced no usable response."""

    url: str
    probe: str
    kind: FailureKind
    reason: str

    @property
    def is_refusal(self) -> bool:
        """The server refused to talk at all (nothing listens, or the port is filtered)."""
        return self.kind in (FailureKind.REFUSED, FailureKind.CONNECT_TIMEOUT)


Fetched = HttpResponse | FetchFailure


class ChainEnd(enum.Enum):
    FINAL = "final"  # the last hop is not a redirect
    OFF_HOST = "off_host"  # the next hop leaves the host; keywire does not follow
    LOOP = "loop"
    TOO_MANY = "too_many"
    FAILED = "failed"  # the last request failed; see ``failure``
    INVALID = "invalid_location"  # the Location is no URL a client can follow (``next_url``)


@dataclass(frozen=True, kw_only=True)
class Chain:
    """A request and the redirects keywire followed from it, hop by hop."""

    start: str
    hops: tuple[HttpResponse, ...]
    end: ChainEnd
    failure: FetchFailure | None = None
    next_url: str = ""

    @property
    def first(self) -> Fetched:
        if self.hops:
            return self.hops[0]
        assert self.failure is not None
        return self.failure

    @property
    def last(self) -> HttpResponse | None:
        return self.hops[-1] if self.hops else None


@dataclass(frozen=True, kw_only=True)
class ClientSettings:
    """How the HTTP client connects: timeouts, caps, retries, trust."""

    timeout: float = 10.0
    body_cap: int = DEFAULT_BODY_CAP
    per_host: int = 5
    max_connections: int = 64
    retries: int = 1
    max_hops: int = 10
    ca_file: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
