"""An API that asks for credentials over cleartext: what that means, category by category.

When the cleartext side answers a request without credentials with a challenge (401 or 407, a
``WWW-Authenticate`` header) or with an error that names the missing key, it tells every client
to send its key over plain HTTP, and the answers it gives those clients travel the same way. One
root cause (the API is served over cleartext) then shows in three more categories than
Encryption (KW101), each reported under its own CWE:

- **Authentication** (KW111, CWE-523 Unprotected Transport of Credentials): every client sends its
  static key in the clear, where anyone on the path can read and replay it;
- **Data exposure** (KW112, CWE-319 Cleartext Transmission of Sensitive Information): the answers
  to those authenticated requests are readable on the wire;
- **Input validation** (KW113, CWE-924 Improper Enforcement of Message Integrity During
  Transmission): nothing protects requests and answers from being altered on the path.

They name KW101 as their root cause: the overall score counts the root cause once (see
docs/scoring.md), while each category shows its own finding. A refusal (403 that names no key,
or one that points to HTTPS, as the IETF BCP asks) is not a demand.

Rules: KW111, KW112, KW113 (part of the ``cleartext`` check).
"""

from __future__ import annotations

import re

from .._models import Category, Confidence, Finding, Rule, Severity
from ..net.models import HttpResponse
from ..redact import redact_url

_BCP = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-privacy/"
ROOT_CAUSE = "KW101"

# The fix of KW101, shared (the console prints it once): one root cause, one fix.
FLASK_REFUSE = """\
# flask_keywire ships with keywire (not on PyPI yet); where keywire is installed: pip install 'flask>=3.0'
from flask import Flask
from flask_keywire import KeyWire

app = Flask(__name__)
keywire = KeyWire(app)  # 403 for any credential over cleartext, never a redirect

@app.get("/v1/resource")
@keywire.required(scopes=["read"])
def resource():
    return {"data": "..."}
"""

_FIX = (
    "Serve the API over HTTPS only, and answer every cleartext request with the same 403 that "
    "asks for nothing (no 401, no WWW-Authenticate, no error naming a key), or close the port. "
    "Revoke keys that were sent over HTTP. This one fix resolves KW101, KW111, KW112 and KW113."
)

CREDENTIALS_DEMANDED = Rule(
    id="KW111",
    title="API asks for credentials over cleartext HTTP",
    cwe=(523,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "Over plain HTTP, the API answers a request without credentials with a challenge (401, "
        "WWW-Authenticate) or an error naming the missing key. Every client that follows it "
        "sends its static API key in the clear, where anyone on the network path can read and "
        "replay it (CWE-523). One root cause with KW101: see the scoring rubric."
    ),
    remediation=_FIX,
    references=(_BCP, "https://cwe.mitre.org/data/definitions/523.html"),
    flask_fix=FLASK_REFUSE,
    root_cause=ROOT_CAUSE,
)

ANSWERS_IN_CLEARTEXT = Rule(
    id="KW112",
    title="Authenticated answers travel in cleartext",
    cwe=(319,),
    owasp_api="API8:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.HIGH,
    description=(
        "The API takes credentials over plain HTTP, so its answers to authenticated requests, "
        "the data the keys protect, travel readable by anyone on the network path (CWE-319). "
        "One root cause with KW101: see the scoring rubric."
    ),
    remediation=_FIX,
    references=(_BCP, "https://cwe.mitre.org/data/definitions/319.html"),
    flask_fix=FLASK_REFUSE,
    root_cause=ROOT_CAUSE,
)

NO_INTEGRITY = Rule(
    id="KW113",
    title="Requests and answers can be altered on the path",
    cwe=(924,),
    owasp_api="API8:2023",
    category=Category.INPUT_VALIDATION,
    severity=Severity.MEDIUM,
    description=(
        "The API takes authenticated requests over plain HTTP, where nothing protects their "
        "integrity: anyone on the path can change a request before the API acts on it, or an "
        "answer before the client trusts it (CWE-924). One root cause with KW101: see the "
        "scoring rubric."
    ),
    remediation=_FIX,
    references=(_BCP, "https://cwe.mitre.org/data/definitions/924.html"),
    flask_fix=FLASK_REFUSE,
    root_cause=ROOT_CAUSE,
)

RULES = (CREDENTIALS_DEMANDED, ANSWERS_IN_CLEARTEXT, NO_INTEGRITY)

_CHALLENGES = frozenset({401, 407})
# Statuses whose body may ask for a key without a formal challenge ("API key required").
_ERRORS = frozenset({400, 403})
_NAMES_A_CREDENTIAL = re.compile(
    rb"api[ _-]?key|access[ _-]?token|bearer|credential|authori[sz]|authenticat|"
    rb"unauthori[sz]ed|\btoken\b",
    re.I,
)
# An answer that sends the client to HTTPS is a refusal, whatever else it says.
_POINTS_TO_HTTPS = re.compile(
    rb"https|\btls\b|\bssl\b|cleartext|insecure|secure (?:channel|connection)", re.I
)


def credential_demand(response: HttpResponse) -> tuple[str, Confidence] | None:
    """Why ``response`` (a cleartext answer without credentials) asks for credentials, if it does."""
    challenge = response.header("www-authenticate") or response.header("proxy-authenticate")
    if response.status in _CHALLENGES or challenge:
        what = f"HTTP {response.status}"
        if challenge:
            what += f" with the challenge {challenge.strip()[:120]!r}"
        return what, Confidence.HIGH
    if response.status in _ERRORS:
        body = response.body[:4096]
        named = _NAMES_A_CREDENTIAL.search(body)
        if named and not _POINTS_TO_HTTPS.search(body):
            word = named.group(0).decode("ascii", "replace")
            return f"HTTP {response.status} with an error naming {word!r}", Confidence.MEDIUM
    return None


def demand_findings(target: str, http_url: str, response: HttpResponse) -> list[Finding]:
    """KW111-KW113 for a cleartext side that asks for credentials (none if it does not)."""
    demand = credential_demand(response)
    if demand is None:
        return []
    what, confidence = demand
    url = redact_url(http_url)
    evidence = {"request": f"GET {url} (no credentials)", "response": what}
    return [
        CREDENTIALS_DEMANDED.finding(
            target=target,
            message=(
                f"{url} asks for credentials over cleartext ({what}): every client sends its "
                "key in the clear to use this API."
            ),
            evidence=evidence,
            confidence=confidence,
            location=http_url,
        ),
        ANSWERS_IN_CLEARTEXT.finding(
            target=target,
            message=(
                f"{url} takes credentials over cleartext ({what}): the answers to authenticated "
                "requests are readable on the wire."
            ),
            evidence=evidence,
            confidence=confidence,
            location=http_url,
        ),
        NO_INTEGRITY.finding(
            target=target,
            message=(
                f"{url} takes authenticated requests over cleartext ({what}): requests and "
                "answers can be altered on the path."
            ),
            evidence=evidence,
            confidence=confidence,
            location=http_url,
        ),
    ]
