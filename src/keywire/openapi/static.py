"""What an API description itself says about credential safety, before any request is sent.

Pure functions from an :class:`~keywire.openapi.model.ApiSpec` to findings; the evidence of each
finding is the spec location (document and JSON pointer) of what it is about.

Rules: KW901 (server over http), KW902 (API key in the query string), KW903 (API key in a cookie
without a Secure expectation), KW904 (HTTP Basic), KW905 (OAuth 2.0 / OpenID Connect URL over
http), KW906 (security scheme declared but never applied), KW907 (operation without security
while the API declares some).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .._models import Category, Finding, Rule, Severity
from .model import ApiSpec, Server

_CWE319 = "https://cwe.mitre.org/data/definitions/319.html"
_OAS_SERVERS = "https://spec.openapis.org/oas/v3.1.0#server-object"
_OAS_SCHEMES = "https://spec.openapis.org/oas/v3.1.0#security-scheme-object"
_OAS_SECURITY = "https://spec.openapis.org/oas/v3.1.0#security-requirement-object"

SERVER_OVER_HTTP = Rule(
    id="KW901",
    title="API description declares a cleartext http:// server",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.MEDIUM,
    description=(
        "The spec's `servers` (OpenAPI) or `schemes`/`host` (Swagger 2.0) list an http:// base URL. "
        "Clients, SDKs and API consoles generated from the spec will send API keys and tokens to "
        "it in the clear. A loopback development server is reported at low severity."
    ),
    remediation=(
        "List only https:// servers in the published spec, and have the http:// side refuse "
        "requests with 403."
    ),
    references=(_CWE319, _OAS_SERVERS, "https://swagger.io/specification/v2/#swagger-object"),
)

KEY_IN_QUERY = Rule(
    id="KW902",
    title="API description puts an API key in the query string",
    cwe=(598,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "An `apiKey` security scheme is declared `in: query`. Every call then carries the key in "
        "the URL, where server and proxy logs, browser history and Referer headers keep it, even "
        "over HTTPS."
    ),
    remediation=(
        "Declare the key `in: header` (for example `X-API-Key`) or use `http`/`bearer`, and "
        "refuse keys in the query string at runtime."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/598.html",
        _OAS_SCHEMES,
        "https://datatracker.ietf.org/doc/html/rfc6750#section-5.3",
    ),
)

KEY_IN_COOKIE = Rule(
    id="KW903",
    title="API key in a cookie without a Secure expectation",
    cwe=(614,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.LOW,
    description=(
        "An `apiKey` security scheme is declared `in: cookie`, and the spec does not say the "
        "cookie is `Secure` (in the scheme's description or an `x-cookie-secure: true` "
        "extension). A cookie without Secure is also sent over http://, in the clear."
    ),
    remediation=(
        "Set the cookie with `Secure; HttpOnly; SameSite=Strict`, say so in the scheme "
        "(`x-cookie-secure: true`), or move the key to a header."
    ),
    references=("https://cwe.mitre.org/data/definitions/614.html", _OAS_SCHEMES),
)

BASIC_DECLARED = Rule(
    id="KW904",
    title="API description declares HTTP Basic authentication",
    cwe=(261,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "A security scheme is `type: http, scheme: basic` (Swagger 2.0: `type: basic`): clients "
        "send a reusable password, only base64-encoded, with every request."
    ),
    remediation=(
        "Use API keys or OAuth bearer tokens that can be scoped, rotated and revoked, sent in a "
        "header over HTTPS only."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/261.html",
        "https://www.rfc-editor.org/rfc/rfc7617",
    ),
)

OAUTH_URL_OVER_HTTP = Rule(
    id="KW905",
    title="OAuth 2.0 or OpenID Connect URL over cleartext http://",
    cwe=(319,),
    owasp_api="API2:2023",
    category=Category.ENCRYPTION,
    severity=Severity.HIGH,
    description=(
        "An authorization, token, refresh or OpenID Connect discovery URL of a security scheme "
        "uses http://. Authorization codes, client secrets and access tokens then cross the "
        "network in the clear, and a tampered discovery document redirects every client."
    ),
    remediation="Serve every OAuth 2.0 and OpenID Connect endpoint over HTTPS and list https:// URLs.",
    references=(
        _CWE319,
        "https://www.rfc-editor.org/rfc/rfc6749#section-3.1",
        "https://www.rfc-editor.org/rfc/rfc9700",
    ),
)

SCHEME_UNUSED = Rule(
    id="KW906",
    title="Security scheme declared but never applied",
    cwe=(1059,),
    owasp_api="API9:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.LOW,
    description=(
        "The spec declares a security scheme that no `security` requirement (global or per "
        "operation) uses. Either the documentation is stale, or operations meant to be protected "
        "were published without it."
    ),
    remediation=(
        "Apply the scheme where it is meant to be required (a global `security` or the "
        "operation's), or remove it from the spec."
    ),
    references=("https://cwe.mitre.org/data/definitions/1059.html", _OAS_SECURITY),
)

OPERATION_UNSECURED = Rule(
    id="KW907",
    title="Operation without security while the API declares some",
    cwe=(306,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The API declares security schemes, but this operation has no security requirement at "
        "all (no global `security`, none on the operation). Unless it is meant to be public, "
        "it is an unauthenticated way in. An operation that opts out explicitly with "
        "`security: []` is taken as deliberately public and not reported."
    ),
    remediation=(
        "Add a global `security` requirement (and `security: []` on the few operations that are "
        "public by design), or a requirement on this operation."
    ),
    references=("https://cwe.mitre.org/data/definitions/306.html", _OAS_SECURITY),
)

STATIC_RULES = (
    SERVER_OVER_HTTP,
    KEY_IN_QUERY,
    KEY_IN_COOKIE,
    BASIC_DECLARED,
    OAUTH_URL_OVER_HTTP,
    SCHEME_UNUSED,
    OPERATION_UNSECURED,
)


def is_loopback(host: str) -> bool:
    """``localhost`` names and loopback addresses: a developer's machine, not a network."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pointer(location: str) -> str:
    return location.split("#", 1)[1] if "#" in location else location


def spec_findings(spec: ApiSpec) -> list[Finding]:
    """Every static finding of ``spec`` (pure)."""
    findings: list[Finding] = []
    target = spec.source
    seen_servers: set[str] = set()
    servers: list[Server] = list(spec.servers)
    for operation in spec.operations:
        servers.extend(operation.servers)
    for server in servers:
        if server.scheme != "http" or server.location in seen_servers:
            continue
        seen_servers.add(server.location)
        local = is_loopback(server.host)
        findings.append(
            SERVER_OVER_HTTP.finding(
                target=target,
                message=(
                    f"The spec declares the cleartext server {server.url}"
                    + (" (a loopback development server)." if local else ".")
                ),
                evidence={"spec": server.location, "url": server.url},
                severity=Severity.LOW if local else None,
                location=_pointer(server.location),
            )
        )

    used = {name for op in spec.operations for req in op.security for name in req}
    used |= {name for req in spec.security for name in req}
    for scheme in spec.security_schemes:
        evidence = {"spec": scheme.location, "scheme": scheme.name}
        where = _pointer(scheme.location)
        if scheme.type == "apiKey" and scheme.key_in == "query":
            findings.append(
                KEY_IN_QUERY.finding(
                    target=target,
                    message=(
                        f"Security scheme `{scheme.name}` sends the API key in the query "
                        f"parameter `{scheme.key_name}`."
                    ),
                    evidence={**evidence, "parameter": scheme.key_name},
                    location=where,
                )
            )
        if (
            scheme.type == "apiKey"
            and scheme.key_in == "cookie"
            and not scheme.secure_cookie_declared
        ):
            findings.append(
                KEY_IN_COOKIE.finding(
                    target=target,
                    message=(
                        f"Security scheme `{scheme.name}` sends the API key in the cookie "
                        f"`{scheme.key_name}` and does not say the cookie is Secure."
                    ),
                    evidence={**evidence, "cookie": scheme.key_name},
                    location=where,
                )
            )
        if scheme.type == "http" and scheme.http_scheme == "basic":
            findings.append(
                BASIC_DECLARED.finding(
                    target=target,
                    message=f"Security scheme `{scheme.name}` is HTTP Basic authentication.",
                    evidence=evidence,
                    location=where,
                )
            )
        for flow_url in scheme.urls:
            parts = urlsplit(flow_url.url)
            if parts.scheme.lower() != "http":
                continue
            local = is_loopback(parts.hostname or "")
            findings.append(
                OAUTH_URL_OVER_HTTP.finding(
                    target=target,
                    message=(
                        f"Security scheme `{scheme.name}` has its {flow_url.label} over "
                        f"cleartext: {flow_url.url}"
                    ),
                    evidence={
                        "spec": flow_url.location,
                        "scheme": scheme.name,
                        "url": flow_url.url,
                    },
                    severity=Severity.LOW if local else None,
                    location=_pointer(flow_url.location),
                )
            )
        if scheme.name not in used:
            findings.append(
                SCHEME_UNUSED.finding(
                    target=target,
                    message=(
                        f"Security scheme `{scheme.name}` is declared but no security requirement "
                        "uses it."
                    ),
                    evidence=evidence,
                    location=where,
                )
            )

    if spec.security_schemes:
        for operation in spec.operations:
            if operation.security_location:
                continue  # a requirement applies, or the operation opted out explicitly
            findings.append(
                OPERATION_UNSECURED.finding(
                    target=target,
                    message=(
                        f"{operation.label} has no security requirement although the API "
                        f"declares {len(spec.security_schemes)} security scheme(s)."
                    ),
                    evidence={"spec": operation.location, "operation": operation.label},
                    location=operation.label,
                )
            )
    return findings
