"""BREACH: a compressed HTTPS response that reflects the request next to a secret.

HTTP compression makes a response shorter when a part of it repeats another. If a response is
compressed, echoes something the requester chose (a query parameter) and also carries a secret
(a CSRF token, an API key, a session token), an attacker who can make a victim's client send
requests and can see the encrypted lengths learns the secret a character at a time: BREACH
(CVE-2013-3587). TLS compression (CRIME, KW425) is the same attack a layer down; testssl.sh
reports HTTP compression, keywire checks whether the three conditions meet in one response.

keywire sends one anonymous GET to the HTTPS side (the baseline's final URL, same host), with
two harmless query parameters carrying a random marker (``?q=kw…&keywire=kw…``) and
``Accept-Encoding: gzip, deflate, br``, and looks at the answer:

- **compressed**: its ``Content-Encoding`` is gzip, deflate or br;
- **reflects input**: the marker is in the decoded body;
- **carries a secret**: the decoded body holds a value shaped like a secret: a key or token in
  a known format (the secret catalogue), or a long random value under a name such as
  ``csrf_token``, ``authenticity_token``, ``api_key``, ``access_token`` or ``secret`` (a JSON
  member, a hidden form field, a ``<meta>`` tag).

All three: KW709. keywire decodes gzip and deflate itself; a body compressed with br (which it
does not decode) is judged on the same request sent again with ``Accept-Encoding: identity``,
with medium confidence. A response that is compressed but reflects nothing, reflects but is not
compressed, or has no secret, is not reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from .._dataclass import dataclass
from .._models import Category, Confidence, Finding, Rule, Severity
from ..redact import Redacted, redact, redact_url
from ..secrets import find_secrets
from ..secrets.validators import shannon_entropy
from ._base import CANARY_PREFIX, Family, not_applicable, not_tested

ACCEPT_ENCODING = "gzip, deflate, br"
COMPRESSIONS = frozenset({"gzip", "x-gzip", "deflate", "br", "compress", "zstd"})
MAX_SECRETS = 10

BREACH = Rule(
    id="KW709",
    title="Compressed HTTPS response reflects input next to a secret (BREACH)",
    cwe=(200,),
    owasp_api="API3:2023",
    category=Category.DATA_EXPOSURE,
    severity=Severity.MEDIUM,
    description=(
        "An HTTPS response is compressed (gzip, deflate or br), repeats a value from the "
        "request's query string, and carries a secret such as a CSRF token, an API key or a "
        "session token. That is what the BREACH attack needs: an attacker who can make a "
        "client send requests with chosen input and can observe the sizes of the encrypted "
        "responses recovers the secret character by character, without breaking TLS."
    ),
    remediation=(
        "Take one of the three ingredients away: do not compress responses that carry secrets "
        "(or those answering cross-site requests), do not echo request input into them, or do "
        "not put the secret in the body (send tokens once, in a header, or mask per-response "
        "CSRF tokens with a random XOR pad as Django and Rails do). Rate limiting and length "
        "padding only slow the attack down."
    ),
    references=(
        "https://www.breachattack.com/",
        "https://nvd.nist.gov/vuln/detail/CVE-2013-3587",
        "https://cwe.mitre.org/data/definitions/200.html",
    ),
    flask_fix=(
        "# Don't compress responses that carry secrets (flask-compress: exclude them),\n"
        "# and never echo request arguments next to a token:\n"
        "@app.after_request\n"
        "def no_compression_with_secrets(response):\n"
        "    if getattr(g, 'carries_secret', False):\n"
        "        response.headers.pop('Content-Encoding', None)  # and serve it uncompressed\n"
        "    return response\n"
    ),
)

RULES = (BREACH,)

_NAMES = (
    r"csrf[\w-]{0,20}|xsrf[\w-]{0,20}|_?token|authenticity_token|csrfmiddlewaretoken|"
    r"__requestverificationtoken|access[_-]?token|refresh[_-]?token|id[_-]?token|"
    r"auth[_-]?token|session[_-]?(?:id|token)?|sid|api[_-]?key|apikey|secret|client[_-]?secret|"
    r"private[_-]?key|password"
)
_VALUE = r"[A-Za-z0-9+/_.=~-]{16,512}"
#: ``"name": "value"``, ``name=value``, ``name: 'value'`` (JSON, JavaScript, query strings).
_ASSIGNED = re.compile(
    rf"""["']?\b({_NAMES})\b["']?\s{{0,4}}[:=]\s{{0,4}}["']?({_VALUE})""", re.IGNORECASE
)
#: ``<input name="csrf_token" value="...">`` and ``<meta name="csrf-token" content="...">``:
#: the tag is found, then its attributes read within :data:`_TAG_SPAN` characters (a regular
#: expression spanning the whole tag backtracks badly on hostile markup).
_TAG = re.compile(r"<(?:input|meta)\b", re.IGNORECASE)
_TAG_SPAN = 600
_MAX_TAGS = 2000
_ATTRIBUTE = re.compile(
    r"""([\w:-]{1,40})\s*=\s*(?:"([^"]{0,512})"|'([^']{0,512})'|([^\s"'>]{1,512}))"""
)
_NAME = re.compile(rf"(?:{_NAMES})", re.IGNORECASE)
_VALUE_ONLY = re.compile(_VALUE)


def _tag_secrets(text: str) -> list[tuple[str, str]]:
    """(name, value) of ``<input>``/``<meta>`` tags whose name is a secret's, bounded."""
    found: list[tuple[str, str]] = []
    for count, match in enumerate(_TAG.finditer(text)):
        if count >= _MAX_TAGS:
            break
        stop = text.find(">", match.end(), match.end() + _TAG_SPAN)
        inside = text[match.end() : stop if stop != -1 else match.end() + _TAG_SPAN]
        attributes: dict[str, str] = {}
        for key, *values in _ATTRIBUTE.findall(inside):
            attributes.setdefault(key.lower(), next((v for v in values if v), ""))
        name = attributes.get("name") or attributes.get("id") or ""
        value = attributes.get("value") or attributes.get("content") or ""
        if _NAME.fullmatch(name) and _VALUE_ONLY.fullmatch(value):
            found.append((name, value))
    return found


@dataclass(frozen=True, kw_only=True)
class SecretSeen:
    """A secret-shaped value in the response (only its redacted form is kept)."""

    name: str
    value: Redacted


def _random_enough(value: str) -> bool:
    """A long value that looks random, not a word, a path or a repeated character."""
    if len(set(value)) < 8 or shannon_entropy(value) < 3.0:
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2


def secret_shaped(text: str, *, ignore: Sequence[str] = ()) -> list[SecretSeen]:
    """Values in ``text`` shaped like a secret (see the module docstring), redacted, bounded."""
    found: dict[str, SecretSeen] = {}
    for hit in find_secrets(text, where="body"):
        found.setdefault(hit.redacted.sha256, SecretSeen(name=hit.type.name, value=hit.redacted))
    assigned = [
        (match.group(1), match.group(2))
        for _, match in zip(range(200), _ASSIGNED.finditer(text), strict=False)
    ]
    for name, value in [*assigned, *_tag_secrets(text)]:
        if len(found) >= MAX_SECRETS:
            break
        if value.startswith(CANARY_PREFIX) or any(m in value for m in ignore):
            continue
        if not _random_enough(value):
            continue
        redacted = redact(value)
        found.setdefault(redacted.sha256, SecretSeen(name=name, value=redacted))
    return list(found.values())[:MAX_SECRETS]


@dataclass(frozen=True, kw_only=True)
class BreachObservation:
    target: str
    #: The URL probed, before keywire added its marker parameters.
    url: str = ""
    status: int = 0
    #: The Content-Encoding of the answer to ``Accept-Encoding: gzip, deflate, br``.
    encoding: str = ""
    #: The body was read decoded from the compressed answer itself (False: from a re-request).
    judged_on_compressed: bool = True
    reflected: bool = False
    secrets: tuple[SecretSeen, ...] = ()
    skipped: str = ""
    failure: str = ""


def check(obs: BreachObservation) -> Sequence[Finding]:
    if obs.skipped:
        raise not_applicable(obs.skipped)
    if obs.failure:
        raise not_tested(f"the BREACH probe got no answer: {obs.failure}")
    if obs.encoding not in COMPRESSIONS or not obs.reflected or not obs.secrets:
        return []
    names = ", ".join(dict.fromkeys(s.name for s in obs.secrets))
    first = obs.secrets[0]
    url = redact_url(obs.url)
    return [
        BREACH.finding(
            target=obs.target,
            message=(
                f"{url}, requested with a marker in ?q= and ?keywire=, is compressed with "
                f"{obs.encoding}, repeats the marker in its body and carries a secret ({names})."
            ),
            evidence={
                "url": url,
                "content_encoding": obs.encoding,
                "reflected": "the query parameter's value is repeated in the body",
                "secret": f"{first.name}: {first.value}",
                **({"secrets": names} if len(obs.secrets) > 1 else {}),
            },
            location=f"breach:{urlsplit(obs.url).path}",
            confidence=Confidence.HIGH if obs.judged_on_compressed else Confidence.MEDIUM,
        )
    ]


def details(obs: BreachObservation) -> Mapping[str, object]:
    if obs.skipped or obs.failure:
        return {"error": obs.failure or obs.skipped}
    return {
        "url": redact_url(obs.url),
        "status": obs.status,
        "content_encoding": obs.encoding or "none",
        "reflected": obs.reflected,
        "secrets": [f"{s.name}: {s.value}" for s in obs.secrets],
    }


FAMILY: Family[BreachObservation] = Family(
    name="breach",
    title="BREACH: compressed responses that reflect input next to a secret",
    group="http",
    observation=BreachObservation,
    check=check,
    details=details,
)
