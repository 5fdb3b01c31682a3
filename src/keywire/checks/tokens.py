"""Token randomness: are the session IDs, API keys and other tokens an API issues unpredictable?

keywire checks randomness in two places.

**During every scan** (this check family, group ``http``), cookies with a session- or token-like
name (``session``, ``sid``, ``PHPSESSID``, ``csrftoken``, ``XSRF-TOKEN``, ``api_key``…),
token-like response headers (``X-Auth-Token``, ``X-Session-Token``…) and token-like fields of
JSON bodies (``token``, ``access_token``, ``session_id``, ``api_key``…) are analysed
structurally where they are captured, for free: no extra request is sent. From one value keywire
recognises time-based identifiers (UUIDv1/v6, MongoDB ObjectIds, Snowflake IDs, timestamps
embedded in the value) and values too short to hold 64 bits. Only the redacted form of a value
(prefix, last four characters, SHA-256 fingerprint) is kept. Signed values (JWTs, Flask's session
cookie) and values that are clearly not generated (``deleted``, ``true``, short words) are left
alone, and repeats are not judged from the two or three responses a scan sees.

**With** ``keywire tokens`` (see ``docs/tokens.md``), tokens are collected from many requests (or
read from a file) and analysed in depth:

* structure (1-10 samples): UUID versions, ObjectIds, ULIDs, Snowflakes, embedded timestamps
  (decimal, hex, base64-decoded) near the sampling time, counters, repeats, constant positions;
  the result is an upper bound on the entropy of a token, in bits;
* statistics: FIPS 140-2 (monobit, poker, runs, long run) on 20,000-bit blocks, chi-square per
  character position, transitions between successive tokens, bit bias, compression, and the
  effective entropy per position at a stated significance level. Every test reports its p-value
  and how many samples it needed; a test never calls tokens random, only "no weakness found at N
  samples";
* prediction: the Mersenne Twister (Python's ``random``) rebuilt from 624 consecutive 32-bit
  outputs, linear congruential generators (unknown parameters from six outputs; Java's
  ``java.util.Random``; MSVC ``rand()``), glibc ``random()``, and generators seeded with (or
  hashing) the time, found by trying every instant near the sampling time. A prediction is
  reported only after it reproduced tokens keywire had not used; the predicted next token appears
  in redacted form.

Rules: KW801 (predicted), KW802 (time-based identifier), KW803 (counter), KW804 (too little
entropy), KW805 (repeated tokens), KW806 (fails statistical tests).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence

from .. import _json
from .._dataclass import dataclass
from .._models import Finding
from ..net.models import HttpResponse
from ..redact import redact, redact_url
from ..tokens._model import Weakness, WeaknessKind
from ..tokens.rules import RULE_BY_KIND
from ..tokens.rules import RULES as RULES  # the family's rules (keywire.registry)
from ._base import Family, Isolation, not_applicable

# The name must *end* in the token word: `session`, `PHPSESSID`, `connect.sid`, `csrftoken`,
# `XSRF-TOKEN`, `api_key`; not `session_started` or `last_session_at`, which hold no secret.
_TOKEN_COOKIE = re.compile(
    r"(?:sess|session|sessid|session_?id|sid|token|csrf|xsrf|api[_-]?key|secret|nonce)$", re.I
)
_TOKEN_HEADER = re.compile(
    r"^x-(?:[a-z0-9-]*-)?(?:auth-token|session-token|session-id|access-token|api-key|csrf-token|"
    r"xsrf-token|token)$",
    re.I,
)
_TOKEN_FIELD = re.compile(
    r"^(?:token|access_?token|refresh_?token|session_?id|session_?token|sid|api_?key|"
    r"apikey|secret|client_?secret|reset_?token|csrf_?token|xsrf_?token|auth_?token|nonce|"
    r"otp|verification_?code)$",
    re.I,
)
_PLACEHOLDERS = frozenset(
    {"deleted", "null", "none", "true", "false", "undefined", "expired", "invalid", "logout"}
)
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
_WHERE = {"cookie": "Cookie", "header": "Header", "json": "JSON field"}
_JSON_BODY_CAP = 256 * 1024
_MAX_NODES = 2000
_MAX_VALUES = 50


def looks_generated(value: str) -> bool:
    """Whether a value is worth analysing as a token: long enough, not a word or a flag, not
    a signed structure (JWT) whose strength is its signature."""
    if not 6 <= len(value) <= 4096 or value.lower() in _PLACEHOLDERS:
        return False
    if len(set(value)) == 1 or any(c.isspace() for c in value):
        return False
    if value.isalpha() and len(value) < 16:
        return False
    return not _JWT.match(value)


@dataclass(frozen=True, kw_only=True)
class TokenSeen:
    """A token-like value, reduced at capture to its redacted form and its analysis."""

    where: str
    name: str
    url: str
    values: tuple[str, ...]  # redacted
    kind: str
    max_bits: float
    unpredictable_bits: float
    weaknesses: tuple[Weakness, ...]


@dataclass(frozen=True, kw_only=True)
class TokensObservation:
    target: str
    responses_seen: int
    tokens: tuple[TokenSeen, ...]
    internal_errors: tuple[str, ...] = ()


def _cookie_values(response: HttpResponse) -> Iterator[tuple[str, str, str]]:
    for header in response.header_values("set-cookie"):
        first = header.partition(";")[0]
        name, sep, value = first.partition("=")
        name = name.strip()
        if sep and name and _TOKEN_COOKIE.search(name):
            yield "cookie", name[:100], value.strip().strip('"')


def _header_values(response: HttpResponse) -> Iterator[tuple[str, str, str]]:
    for name, value in response.headers:
        if _TOKEN_HEADER.match(name):
            yield "header", name[:100], value.strip()


def _json_values(response: HttpResponse) -> Iterator[tuple[str, str, str]]:
    content_type = (response.header("content-type") or "").lower()
    body = response.body
    if len(body) > _JSON_BODY_CAP or not ("json" in content_type or body[:1] in (b"{", b"[")):
        return
    try:
        document = _json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return
    stack: list[tuple[str, object]] = [("$", document)]
    visited = 0
    while stack and visited < _MAX_NODES:
        path, node = stack.pop()
        visited += 1
        if isinstance(node, Mapping):
            for key, child in node.items():
                child_path = f"{path}.{key}"[:200]
                if isinstance(child, str | int) and not isinstance(child, bool):
                    if _TOKEN_FIELD.match(str(key)):
                        yield "json", child_path, str(child)
                elif isinstance(child, Mapping | list):
                    stack.append((child_path, child))
        elif isinstance(node, list):
            # Elements of one array are samples of the same field: one path for all of them.
            stack.extend((f"{path}[*]"[:200], child) for child in reversed(node[:100]))


def capture(
    responses: Sequence[HttpResponse], *, seen_at: float, isolation: Isolation | None = None
) -> tuple[TokenSeen, ...]:
    """Find token-like values in ``responses`` and analyse them; keep only redacted forms.

    With ``isolation``, a response or a token group that trips keywire up is recorded there
    and the others are still analysed; without it, the exception propagates.
    """

    def guarded(what: str) -> contextlib.AbstractContextManager[None]:
        return isolation.item(what) if isolation is not None else contextlib.nullcontext()

    grouped: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for response in responses:
        found: list[tuple[str, str, str]] = []
        with guarded(f"looking for tokens in {redact_url(response.url)}"):
            found = [*_cookie_values(response), *_header_values(response), *_json_values(response)]
        for where, name, value in found:
            if not looks_generated(value):
                continue
            url, values = grouped.setdefault((where, name), (redact_url(response.url), []))
            if len(values) < _MAX_VALUES and value not in values:
                values.append(value)
    seen = []
    for (where, name), (url, values) in grouped.items():
        # The analysis (statistics, predictors) loads only when a response carried tokens.
        from ..tokens.analysis import NoTokens, analyze

        with guarded(f"analysing {where} {name[:40]}"):
            try:
                analysis = analyze(values, sampled_at=seen_at, predict=False)
            except NoTokens:
                continue
            seen.append(
                TokenSeen(
                    where=where,
                    name=name,
                    url=url,
                    values=tuple(str(redact(v)) for v in values),
                    kind=analysis.structure.kind,
                    max_bits=analysis.structure.max_bits,
                    unpredictable_bits=analysis.structure.unpredictable_bits,
                    weaknesses=analysis.weaknesses,
                )
            )
    return tuple(seen)


def check(obs: TokensObservation) -> Sequence[Finding]:
    if obs.responses_seen == 0:
        raise not_applicable("no HTTP response to examine")
    if not obs.tokens:
        raise not_applicable("no cookie, header or JSON field with a token-like value")
    findings: dict[str, Finding] = {}
    for token in obs.tokens:
        for weakness in token.weaknesses:
            # Two baseline responses setting one value is thin evidence of a shared secret
            # (it may be a signed constant); `keywire tokens` samples enough to tell.
            if weakness.kind is WeaknessKind.REPEATED:
                continue
            rule = RULE_BY_KIND[weakness.kind]
            finding = rule.finding(
                target=obs.target,
                message=f"{_WHERE[token.where]} `{token.name}`: {weakness.message}",
                evidence={
                    "where": f"{token.where} {token.name}",
                    "url": token.url,
                    "value": token.values[0],
                    "samples": str(len(token.values)),
                    "max_bits": f"{token.max_bits:.1f}",
                    "unpredictable_bits": f"{token.unpredictable_bits:.1f}",
                    **dict(weakness.evidence),
                },
                confidence=weakness.confidence,
                severity=weakness.severity,
                location=f"{token.where}:{token.name}:{weakness.location}",
            )
            findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


def details(obs: TokensObservation) -> Mapping[str, object]:
    return {
        "examined": [
            {
                "where": t.where,
                "name": t.name,
                "url": t.url,
                "values": list(t.values),
                "kind": t.kind,
                "max_bits": t.max_bits,
                "unpredictable_bits": t.unpredictable_bits,
                "weaknesses": [w.kind.value for w in t.weaknesses],
            }
            for t in obs.tokens
        ]
    }


FAMILY: Family[TokensObservation] = Family(
    name="tokens",
    title="Token randomness",
    group="http",
    observation=TokensObservation,
    check=check,
    details=details,
)
