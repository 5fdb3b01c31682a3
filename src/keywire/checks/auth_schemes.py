"""Authentication schemes the API offers in ``WWW-Authenticate`` challenges.

Basic authentication sends a reusable password, merely base64-encoded, with every request; over
cleartext anyone on the path reads it. Digest with MD5 rests on a broken hash. And when a server
offers a weak scheme beside a strong one, a client (or an attacker stripping the strong challenge)
can pick the weak one.

Rules: KW130 (Basic offered), KW131 (Basic offered over cleartext), KW132 (Digest with MD5),
KW133 (a weaker scheme offered beside a stronger one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._dataclass import dataclass
from .._models import Category, Finding, Rule, Severity
from ..redact import redact_url
from ._base import Family, not_applicable

_RFC7617 = "https://www.rfc-editor.org/rfc/rfc7617"
_RFC7616 = "https://www.rfc-editor.org/rfc/rfc7616"
_FLASK_BEARER = """\
# Accept API keys in a header over HTTPS only; flask_keywire answers 401 with
# `WWW-Authenticate: Bearer` and refuses every credential over cleartext.
from flask_keywire import KeyWire
keywire = KeyWire(app)

@app.get("/v1/resource")
@keywire.required()
def resource(): ...
"""

BASIC_OFFERED = Rule(
    id="KW130",
    title="HTTP Basic authentication offered",
    cwe=(261,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The API challenges clients with Basic authentication: a reusable password, only "
        "base64-encoded, sent with every request. Anything that logs or intercepts one request "
        "(a proxy, a debug log, a TLS-inspecting middlebox) holds the password."
    ),
    remediation=(
        "Prefer API keys or OAuth bearer tokens that can be scoped, rotated and revoked, sent in "
        "a header over HTTPS only."
    ),
    references=(_RFC7617, "https://cwe.mitre.org/data/definitions/261.html"),
    flask_fix=_FLASK_BEARER,
)

BASIC_OVER_HTTP = Rule(
    id="KW131",
    title="HTTP Basic authentication offered over cleartext",
    cwe=(319, 261),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "The cleartext side asks for Basic credentials: clients that answer send a username and "
        "password, base64-encoded, across the network in the clear."
    ),
    remediation="Never challenge for credentials over HTTP; refuse cleartext requests with 403.",
    references=(_RFC7617 + "#section-4", "https://cwe.mitre.org/data/definitions/319.html"),
    flask_fix=_FLASK_BEARER,
)

DIGEST_MD5 = Rule(
    id="KW132",
    title="HTTP Digest authentication with MD5",
    cwe=(328,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The API offers Digest authentication with MD5 (explicitly, or by omitting `algorithm`, "
        "whose default is MD5). MD5 is broken, and captured digests can be attacked offline."
    ),
    remediation="Offer Digest only with SHA-256 (RFC 7616), or move to bearer tokens over HTTPS.",
    references=(_RFC7616, "https://cwe.mitre.org/data/definitions/328.html"),
)

WEAKER_SCHEME = Rule(
    id="KW133",
    title="Weaker authentication scheme offered beside a stronger one",
    cwe=(757,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The API offers several schemes and one of them is weak (Basic, or Digest with MD5). A "
        "client may choose the weak one, and an attacker who can strip the strong challenge can "
        "make it do so."
    ),
    remediation="Offer only the strong scheme; retire the weak one.",
    references=("https://cwe.mitre.org/data/definitions/757.html", _RFC7616),
)

RULES = (BASIC_OFFERED, BASIC_OVER_HTTP, DIGEST_MD5, WEAKER_SCHEME)


@dataclass(frozen=True, kw_only=True)
class Challenge:
    scheme: str
    params: tuple[tuple[str, str], ...]

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def weak(self) -> bool:
        if self.scheme == "basic":
            return True
        if self.scheme == "digest":
            algorithm = (self.param("algorithm") or "MD5").upper()
            return algorithm in ("MD5", "MD5-SESS")
        return False


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # noqa: S105 - an RFC 9110 token, not a password
_PARAM = re.compile(rf"^({_TOKEN})\s*=\s*(.*)$", re.S)
_SCHEME = re.compile(rf"^({_TOKEN})(?:\s+(.*))?$", re.S)


def _split_commas(value: str) -> list[str]:
    """Split on commas outside quoted strings."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value[:8192]:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def parse_challenges(value: str) -> tuple[Challenge, ...]:
    """Parse a ``WWW-Authenticate`` value into its challenges (RFC 9110 §11.6.1).

    >>> [c.scheme for c in parse_challenges('Bearer realm="api", Basic realm="x, y"')]
    ['bearer', 'basic']
    """
    challenges: list[Challenge] = []
    scheme: str | None = None
    params: list[tuple[str, str]] = []
    for item in _split_commas(value):
        item = item.strip()
        if not item:
            continue
        param = _PARAM.match(item)
        if param is not None and scheme is not None and not param.group(1).endswith("="):
            params.append((param.group(1).lower(), _unquote(param.group(2))))
            continue
        head = _SCHEME.match(item)
        if head is None:
            continue
        if scheme is not None:
            challenges.append(Challenge(scheme=scheme, params=tuple(params)))
        scheme, params = head.group(1).lower(), []
        rest = (head.group(2) or "").strip()
        if rest:
            first = _PARAM.match(rest)
            if first is not None and not rest.rstrip("=").endswith(first.group(1)):
                params.append((first.group(1).lower(), _unquote(first.group(2))))
            else:
                params.append(("token68", rest))
    if scheme is not None:
        challenges.append(Challenge(scheme=scheme, params=tuple(params)))
    return tuple(challenges)


@dataclass(frozen=True, kw_only=True)
class SeenChallenge:
    url: str
    scheme_of_url: str
    challenge: Challenge


@dataclass(frozen=True, kw_only=True)
class AuthSchemeObservation:
    target: str
    responses_seen: int
    challenges: tuple[SeenChallenge, ...]


def check(obs: AuthSchemeObservation) -> Sequence[Finding]:
    if obs.responses_seen == 0:
        raise not_applicable("no HTTP response to examine")
    findings: dict[str, Finding] = {}

    def add(finding: Finding) -> None:
        findings.setdefault(finding.fingerprint, finding)

    for seen in obs.challenges:
        challenge = seen.challenge
        evidence = {"url": redact_url(seen.url), "challenge": _describe(challenge)}
        if challenge.scheme == "basic":
            if seen.scheme_of_url == "http":
                add(
                    BASIC_OVER_HTTP.finding(
                        target=obs.target,
                        message=f"{redact_url(seen.url)} asks for Basic credentials over cleartext.",
                        evidence=evidence,
                        location="basic-http",
                    )
                )
            else:
                add(
                    BASIC_OFFERED.finding(
                        target=obs.target,
                        message=f"{redact_url(seen.url)} offers HTTP Basic authentication.",
                        evidence=evidence,
                        location="basic",
                    )
                )
        if challenge.scheme == "digest" and challenge.weak:
            add(
                DIGEST_MD5.finding(
                    target=obs.target,
                    message=f"{redact_url(seen.url)} offers Digest authentication with MD5.",
                    evidence=evidence,
                    location="digest-md5",
                )
            )
    by_url: dict[str, list[Challenge]] = {}
    for seen in obs.challenges:
        by_url.setdefault(seen.url, []).append(seen.challenge)
    for url, challenges in by_url.items():
        weak = [c for c in challenges if c.weak]
        strong = [c for c in challenges if not c.weak]
        if weak and strong:
            add(
                WEAKER_SCHEME.finding(
                    target=obs.target,
                    message=(
                        f"{redact_url(url)} offers {', '.join(_describe(c) for c in weak)} beside "
                        f"{', '.join(_describe(c) for c in strong)}."
                    ),
                    evidence={
                        "url": redact_url(url),
                        "schemes": ", ".join(_describe(c) for c in challenges),
                    },
                    location="weaker-scheme",
                )
            )
    return list(findings.values())


def _describe(challenge: Challenge) -> str:
    name = challenge.scheme.capitalize()
    algorithm = challenge.param("algorithm")
    if challenge.scheme == "digest":
        return f"Digest ({algorithm or 'MD5 by default'})"
    return name


FAMILY: Family[AuthSchemeObservation] = Family(
    name="auth_schemes",
    title="Authentication schemes offered",
    group="http",
    observation=AuthSchemeObservation,
    check=check,
)
