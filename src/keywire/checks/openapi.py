"""Where the live API contradicts its own description (runs on spec-driven scans only).

Every endpoint of a spec-driven scan is an :class:`~keywire.openapi.plan.EndpointTarget`: the other
families examine it like any URL, and this one compares what it answers with what the spec
declared:

* the operation declares security, yet answers 2xx to a request without credentials (KW910);
* an ``apiKey`` scheme declared ``in: query`` is accepted: adding the declared parameter with a
  canary changes the answer (KW120, the core's rule for keys read from the URL);
* the spec declares https only, yet the cleartext side serves: the cleartext family's KW101 is
  reported, and this family records the contradiction with the spec location.

The static rules about the spec itself (KW901-KW907, :mod:`keywire.openapi.static`) are listed here
too, so the rule catalogue has one home for the spec's rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import Fetched, HttpResponse
from ..openapi.plan import Endpoint
from ..openapi.static import STATIC_RULES
from ..redact import redact_url
from ._base import Family, not_applicable, not_tested, serves_content
from ._compare import answers_differ, size, strictly_differ
from .query_keys import QUERY_STRING_KEY

SECURED_BUT_OPEN = Rule(
    id="KW910",
    title="Operation declared as authenticated answers without credentials",
    cwe=(306, 287),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "The spec says the operation requires credentials (a `security` requirement with no "
        "anonymous alternative), yet the live API answered a request without any credential "
        "with 2xx. Either authentication is missing on this route, or the spec is wrong about "
        "what is public."
    ),
    remediation=(
        "Enforce the declared security on the route (answer 401 without a valid credential), "
        "or, if it is public by design, declare `security: []` on the operation."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/306.html",
        "https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/",
        "https://spec.openapis.org/oas/v3.1.0#security-requirement-object",
    ),
    flask_fix=(
        "from flask_keywire import KeyWire\n"
        "keywire = KeyWire(app)\n\n"
        "@app.get('/v1/pets/<pet_id>')\n"
        "@keywire.required()  # 401 without a valid key, as the spec declares\n"
        "def pet(pet_id): ...\n"
    ),
)

RULES = (*STATIC_RULES, SECURED_BUT_OPEN)


@dataclass(frozen=True, kw_only=True)
class OpenApiObservation:
    target: str
    endpoint: Endpoint | None
    url: str = ""
    anonymous: Fetched | None = None
    cleartext: Fetched | None = None
    query_keys: tuple[tuple[str, str, Fetched], ...] = ()  # (scheme, parameter, response)
    anonymous_repeat: Fetched | None = None
    canary: str = ""


def check(obs: OpenApiObservation) -> Sequence[Finding]:
    endpoint = obs.endpoint
    if endpoint is None:
        raise not_applicable("not a spec-driven target")
    anonymous = obs.anonymous
    if not isinstance(anonymous, HttpResponse):
        reason = getattr(anonymous, "reason", "no answer")
        raise not_tested(f"the endpoint did not answer: {reason}")
    findings: list[Finding] = []
    if endpoint.requires_credentials and 200 <= anonymous.status < 300:
        findings.append(
            SECURED_BUT_OPEN.finding(
                target=obs.target,
                message=(
                    f"{endpoint.operation} requires credentials according to the spec, yet "
                    f"{redact_url(obs.url)} answered HTTP {anonymous.status} without any."
                ),
                evidence={
                    "spec": endpoint.security_location,
                    "declared": " or ".join(" + ".join(r) for r in endpoint.security),
                    "request": f"GET {redact_url(obs.url)} (no credentials)",
                    "response": f"HTTP {anonymous.status}, {len(anonymous.body)} bytes",
                },
                location=endpoint.operation,
            )
        )
    unstable = answers_differ(anonymous, obs.anonymous_repeat, obs.canary)
    for scheme, parameter, response in obs.query_keys:
        if unstable or not answers_differ(anonymous, response, obs.canary, (parameter,)):
            continue
        assert isinstance(response, HttpResponse)
        strict = strictly_differ(anonymous, response, obs.canary, (parameter,))
        findings.append(
            QUERY_STRING_KEY.finding(
                target=obs.target,
                message=(
                    f"The spec's `{scheme}` scheme takes the key in `?{parameter}=`, and the live "
                    f"API reads it: a canary there changed the answer (HTTP {anonymous.status} → "
                    f"HTTP {response.status})."
                ),
                evidence={
                    "parameter": parameter,
                    "spec": endpoint.security_location,
                    "without": f"HTTP {anonymous.status}, {size(anonymous)}",
                    "with canary": f"HTTP {response.status}, {size(response)}",
                },
                confidence=Confidence.HIGH if strict else Confidence.MEDIUM,
                location=parameter,
            )
        )
    return findings


def contradicts_https(obs: OpenApiObservation) -> bool:
    """The spec declares https only and the cleartext side served content."""
    endpoint = obs.endpoint
    return (
        endpoint is not None
        and endpoint.declared_schemes == ("https",)
        and isinstance(obs.cleartext, HttpResponse)
        and serves_content(obs.cleartext)
    )


def details(obs: OpenApiObservation) -> Mapping[str, object]:
    endpoint = obs.endpoint
    if endpoint is None:
        return {}
    contradictions: list[str] = []
    if contradicts_https(obs):
        assert isinstance(obs.cleartext, HttpResponse)
        contradictions.append(
            f"declared https only ({endpoint.server_location}) but "
            f"{redact_url(obs.cleartext.url)} answered HTTP {obs.cleartext.status}"
        )
    anonymous = obs.anonymous
    if (
        endpoint.requires_credentials
        and isinstance(anonymous, HttpResponse)
        and 200 <= anonymous.status < 300
    ):
        contradictions.append(
            f"declared security ({endpoint.security_location}) but answered HTTP "
            f"{anonymous.status} without credentials"
        )
    return {
        "operation": endpoint.operation,
        "operation_id": endpoint.operation_id,
        "spec": endpoint.spec_location,
        "declared_schemes": list(endpoint.declared_schemes),
        "security": [list(r) for r in endpoint.security],
        "anonymous_status": anonymous.status if isinstance(anonymous, HttpResponse) else None,
        "contradictions": contradictions,
    }


FAMILY: Family[OpenApiObservation] = Family(
    name="openapi",
    title="Spec contradictions",
    group="openapi",
    observation=OpenApiObservation,
    check=check,
    details=details,
)
