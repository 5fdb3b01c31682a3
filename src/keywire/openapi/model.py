"""What keywire needs from an API description, the same for Swagger 2.0 and OpenAPI 3.0/3.1.

These are the model's types. :func:`keywire.openapi.build.build_model` walks a loaded
:class:`~keywire.openapi.documents.SpecSet` and keeps, with the document and JSON pointer each came
from: the servers, the security schemes, the global security requirement and every operation with
its effective servers, security and parameters. A value of the wrong type where keywire reads is a
:class:`~keywire.openapi.documents.SpecError` naming its pointer; everything keywire does not read
is left alone.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .._dataclass import dataclass

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: One security requirement: the scheme names that must all be satisfied; () allows anonymous.
Requirement = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Server:
    """A base URL the spec declares (variables replaced by their defaults)."""

    url: str
    location: str

    @property
    def scheme(self) -> str:
        """``http``, ``https``, or ``""`` for a relative URL."""
        return urlsplit(self.url).scheme.lower() if "://" in self.url else ""

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower() if "://" in self.url else ""


@dataclass(frozen=True, kw_only=True)
class FlowUrl:
    label: str  # e.g. "flows.authorizationCode.tokenUrl"
    url: str
    location: str


@dataclass(frozen=True, kw_only=True)
class SecurityScheme:
    name: str
    type: str  # apiKey, http, oauth2, openIdConnect, mutualTLS (2.0 "basic" becomes http/basic)
    http_scheme: str  # for type http: basic, bearer, digest, … (lower case)
    key_in: str  # for apiKey: query, header or cookie
    key_name: str
    description: str
    urls: tuple[FlowUrl, ...]
    secure_cookie_declared: bool
    location: str


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    where: str  # path, query, header, cookie
    required: bool
    value: str | None  # a value to send: example, default or first enum value
    location: str


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str
    operation_id: str
    location: str
    security: tuple[Requirement, ...]
    security_location: str  # where the effective requirement was declared ("" when nowhere)
    parameters: tuple[Parameter, ...]
    servers: tuple[Server, ...]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def requires_credentials(self) -> bool:
        """Every alternative requirement names at least one scheme (no anonymous alternative)."""
        return bool(self.security) and all(self.security)


@dataclass(frozen=True, kw_only=True)
class ApiSpec:
    source: str
    version: str
    title: str
    servers: tuple[Server, ...]
    security_schemes: tuple[SecurityScheme, ...]
    security: tuple[Requirement, ...]
    security_location: str
    operations: tuple[Operation, ...]

    def scheme(self, name: str) -> SecurityScheme | None:
        return next((s for s in self.security_schemes if s.name == name), None)
