"""Cleartext transport: does the API accept, process or redirect requests sent over plain HTTP?

An API key in a request sent to ``http://`` has crossed the network in the clear before the server
can do anything about it. The IETF HTTP API credential-protection BCP (draft-ietf-httpapi-privacy)
therefore asks servers to *refuse* such requests with 403, never to redirect them (a client that
follows the redirect has already leaked the key, and will keep doing so), and to answer identically
whether the credential was valid or not, so nothing on the path learns which keys work.

keywire sends three requests to the cleartext side: one without credentials, and one each with a
random canary credential (``kw_canary_…``, worthless, never a real key) in ``Authorization: Bearer``
and in ``X-API-Key``. A user-supplied credential is never sent over cleartext.

Rules: KW101 (API answers over cleartext), KW102 (credentialed request redirected instead of
refused), KW110 (credentials processed over cleartext). When the cleartext answer asks for
credentials (a 401 challenge, ``WWW-Authenticate``, an error naming a key), what that means for
authentication, data exposure and integrity is reported as KW111-KW113, one root cause with
KW101 (see ``_cleartext_demand.py`` and docs/scoring.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import FailureKind, Fetched, FetchFailure, HttpResponse
from ..redact import redact_url
from ._base import (
    REFUSAL_STATUSES,
    Family,
    not_applicable,
    not_tested,
    serves_content,
)
from ._cleartext_demand import FLASK_REFUSE as _FLASK_REFUSE
from ._cleartext_demand import RULES as DEMAND_RULES
from ._cleartext_demand import demand_findings
from ._compare import bodies_differ, size

_BCP = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-privacy/"
_CWE319 = "https://cwe.mitre.org/data/definitions/319.html"


API_REACHABLE_OVER_HTTP = Rule(
    id="KW101",
    title="API answers over cleartext HTTP",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.CRITICAL,
    description=(
        "The API processed a request sent over plain HTTP instead of refusing it. Every client "
        "that uses the http:// URL sends its API key, token or session across the network in the "
        "clear, where anyone on the path can read and replay it."
    ),
    remediation=(
        "Serve the API over HTTPS only. On the cleartext port, answer every request with 403 "
        "(or close the port); do not redirect API requests, because the credential has already "
        "been sent by then. Revoke keys that were used over HTTP."
    ),
    references=(
        _BCP,
        _CWE319,
        "https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/",
    ),
    flask_fix=_FLASK_REFUSE,
)

CREDENTIAL_REDIRECTED = Rule(
    id="KW102",
    title="Credentialed cleartext request redirected instead of refused",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.ENCRYPTION,
    severity=Severity.HIGH,
    description=(
        "A request carrying a credential over plain HTTP was answered with a redirect to HTTPS. "
        "The credential crossed the network in the clear before the redirect, and clients that "
        "follow redirects silently keep working, so nobody notices the leak. The IETF BCP for HTTP "
        "API credentials requires 403 instead."
    ),
    remediation=(
        "Answer requests that carry credentials over cleartext with 403 Forbidden and a body "
        "that does not depend on the credential's validity. Redirects are for browsers, not APIs. "
        "Treat any key seen over cleartext as compromised and revoke it."
    ),
    references=(_BCP, _CWE319),
    flask_fix=_FLASK_REFUSE,
)

CREDENTIAL_PROCESSED = Rule(
    id="KW110",
    title="Credentials are processed over cleartext HTTP",
    cwe=(319,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.CRITICAL,
    description=(
        "Over plain HTTP, the API answered differently with a (fake, random) credential than "
        "without one. It reads and validates credentials that arrive in the clear, so an "
        "observer can capture working keys and learn which ones are valid."
    ),
    remediation=(
        "Refuse credentials over cleartext before looking them up: 403 with one fixed body for "
        "valid, invalid and missing credentials alike, then revoke any valid key that arrived "
        "that way."
    ),
    references=(_BCP, _CWE319),
    flask_fix=_FLASK_REFUSE,
)

RULES = (API_REACHABLE_OVER_HTTP, CREDENTIAL_REDIRECTED, CREDENTIAL_PROCESSED, *DEMAND_RULES)

# A baseline with one of these means "no credential"; a different answer to a canary then
# means the canary was looked at, even when that answer is a 403.
_AUTH_FAILURES = REFUSAL_STATUSES | {401, 407}

CANARY_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("authorization-bearer", "Authorization", "Bearer {canary}"),
    ("x-api-key", "X-API-Key", "{canary}"),
)


@dataclass(frozen=True, kw_only=True)
class CleartextObservation:
    """The cleartext side's answers without and with a canary credential."""

    target: str
    http_url: str | None
    missing_reason: str
    baseline: Fetched | None
    canaries: tuple[tuple[str, Fetched], ...]
    baseline_repeat: Fetched | None
    canary: str


def check(obs: CleartextObservation) -> Sequence[Finding]:
    if obs.http_url is None or obs.baseline is None:
        raise not_applicable(f"cleartext side not checked: {obs.missing_reason}")
    baseline = obs.baseline
    if isinstance(baseline, FetchFailure):
        if baseline.is_refusal:
            return []
        if baseline.kind is FailureKind.DNS:
            raise not_tested(baseline.reason)
        raise not_tested(f"cleartext side did not answer usably: {baseline.reason}")

    findings: list[Finding] = []
    if serves_content(baseline):
        findings.append(
            API_REACHABLE_OVER_HTTP.finding(
                target=obs.target,
                message=(
                    f"{redact_url(obs.http_url)} answered HTTP {baseline.status} over cleartext "
                    "instead of refusing the request."
                ),
                evidence={
                    "request": f"GET {redact_url(obs.http_url)} (no credentials)",
                    "response": f"HTTP {baseline.status} {baseline.reason}".strip(),
                },
                location=obs.http_url,
            )
        )
    findings += demand_findings(obs.target, obs.http_url, baseline)
    for label, response in obs.canaries:
        if isinstance(response, FetchFailure):
            continue
        header = _header_name(label)
        if response.is_redirect:
            findings.append(
                CREDENTIAL_REDIRECTED.finding(
                    target=obs.target,
                    message=(
                        f"A request with a credential in {header} over cleartext got "
                        f"HTTP {response.status} to {redact_url(response.location or '')} "
                        "instead of 403: the credential was already sent in the clear."
                    ),
                    evidence={
                        "request": f"GET {redact_url(obs.http_url)} with {header}: <canary>",
                        "response": f"HTTP {response.status}",
                        "location": redact_url(response.location or ""),
                    },
                    location=label,
                )
            )
            continue
        if response.status in REFUSAL_STATUSES and baseline.status not in _AUTH_FAILURES:
            continue  # credentials refused over cleartext, as the BCP asks
        if _differs(baseline, response, obs.canary) and _stable(
            baseline, obs.baseline_repeat, obs.canary
        ):
            exact = response.status != baseline.status or _challenge(response) != _challenge(
                baseline
            )
            findings.append(
                CREDENTIAL_PROCESSED.finding(
                    target=obs.target,
                    message=(
                        f"Over cleartext, the API answered HTTP {baseline.status} without a "
                        f"credential and HTTP {response.status} with a random canary in {header}: "
                        "it reads and validates credentials sent in the clear."
                    ),
                    evidence={
                        "without credential": _summary(baseline),
                        f"with canary in {header}": _summary(response),
                    },
                    confidence=Confidence.HIGH if exact else Confidence.MEDIUM,
                    location=label,
                )
            )
    return findings


def _header_name(label: str) -> str:
    return next(h for lbl, h, _ in CANARY_HEADERS if lbl == label)


def _challenge(response: HttpResponse) -> str:
    return (response.header("www-authenticate") or "").strip().lower()


def _differs(baseline: Fetched, other: Fetched, canary: str) -> bool:
    if not isinstance(baseline, HttpResponse) or not isinstance(other, HttpResponse):
        return False
    return (
        baseline.status != other.status
        or _challenge(baseline) != _challenge(other)
        or bodies_differ(
            baseline.body,
            other.body,
            canary,
            a_truncated=baseline.body_truncated,
            b_truncated=other.body_truncated,
        )
    )


def _stable(baseline: HttpResponse, repeat: Fetched | None, canary: str) -> bool:
    """The anonymous answer did not change between two identical requests."""
    if repeat is None:
        return True
    return not _differs(baseline, repeat, canary)


def _summary(response: HttpResponse) -> str:
    challenge = response.header("www-authenticate")
    text = f"HTTP {response.status}, {size(response)}"
    return f"{text}, WWW-Authenticate: {challenge}" if challenge else text


def details(obs: CleartextObservation) -> Mapping[str, object]:
    baseline = obs.baseline
    state: str
    if obs.http_url is None:
        state = "not checked"
    elif isinstance(baseline, FetchFailure):
        state = "refused" if baseline.is_refusal else f"error: {baseline.reason}"
    elif baseline is None:
        state = "not checked"
    elif baseline.is_redirect:
        state = f"redirect ({baseline.status})"
    elif baseline.status in REFUSAL_STATUSES:
        state = f"refused ({baseline.status})"
    else:
        state = f"serves content ({baseline.status})"
    return {"http_url": redact_url(obs.http_url or ""), "cleartext": state}


FAMILY: Family[CleartextObservation] = Family(
    name="cleartext",
    title="Cleartext transport and credentials over HTTP",
    group="http",
    observation=CleartextObservation,
    check=check,
    details=details,
)
