"""The randomness rules (KW801-KW806) and how a token analysis becomes findings.

The rules are reported by ``keywire tokens`` and by the ``tokens`` check family of ``keywire
scan`` (:mod:`keywire.checks.tokens`), whose docstring documents how they are checked.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._models import Category, Finding, Rule, Severity
from ._model import TokenAnalysis, Verdict, Weakness, WeaknessKind
from ._special import format_p

_CWE330 = "https://cwe.mitre.org/data/definitions/330.html"
_CWE338 = "https://cwe.mitre.org/data/definitions/338.html"
_CWE340 = "https://cwe.mitre.org/data/definitions/340.html"
_OWASP_SESSION = (
    "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html"
    "#session-id-entropy"
)
_PY_SECRETS = "https://docs.python.org/3/library/secrets.html"
_FLASK_TOKENS = """\
import secrets

# 32 bytes from the operating system's CSPRNG: 256 bits, URL-safe.
token = secrets.token_urlsafe(32)

# Flask's own session cookie is signed, not random; for server-side sessions and API
# keys, make the identifier with secrets, never with random, uuid1, time or a counter.
"""

PREDICTABLE_GENERATOR = Rule(
    id="KW801",
    title="Tokens come from a predictable generator: keywire predicted the next ones",
    cwe=(338, 330),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "keywire recovered the generator behind the tokens (the Mersenne Twister of Python's "
        "`random`, a linear congruential generator, a generator seeded with the clock, or a hash "
        "of the time) and predicted tokens it had not used. Anyone who collects a few tokens "
        "can compute the ones issued to other users next: session hijacking, password reset "
        "takeover, forged API keys."
    ),
    remediation=(
        "Make every token with a cryptographically secure generator: Python `secrets` "
        "(`secrets.token_urlsafe(32)`), Java `SecureRandom`, Node `crypto.randomBytes`, Go "
        "`crypto/rand`. Never `random`, `Math.random`, `java.util.Random`, `rand`/`mt_rand`, and "
        "never a seed or a hash derived from the time. Then revoke the tokens already issued."
    ),
    references=(_CWE338, _CWE330, _PY_SECRETS, _OWASP_SESSION),
    flask_fix=_FLASK_TOKENS,
)

TIME_BASED = Rule(
    id="KW802",
    title="Tokens are time-based identifiers (UUIDv1, ObjectId, Snowflake, timestamps)",
    cwe=(330, 340),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "The tokens are made from the time they were issued: UUIDv1/v6 (timestamp, clock "
        "sequence and the server's MAC address), MongoDB ObjectIds (time, process and counter), "
        "Snowflake IDs, or a timestamp embedded in the token, with too few random bits beside "
        "it. Whoever knows roughly when a token was issued can enumerate the candidates."
    ),
    remediation=(
        "Identifiers are not secrets. Keep UUIDv1/ObjectIds/Snowflakes as record IDs if you "
        "like, but issue session IDs, API keys and reset tokens from a CSPRNG with at least 128 "
        "bits (`secrets.token_urlsafe(32)`; `uuid.uuid4()` at the very least)."
    ),
    references=(
        _CWE330,
        _CWE340,
        "https://www.rfc-editor.org/rfc/rfc9562#section-8",
        _OWASP_SESSION,
    ),
    flask_fix=_FLASK_TOKENS,
)

SEQUENTIAL = Rule(
    id="KW803",
    title="Tokens contain a counter",
    cwe=(330, 340),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "Part of every token rises in small steps (or stays within a narrow range) from one "
        "token to the next. With few other random bits, one token reveals its neighbours; with "
        "enough of them it still discloses how many tokens are issued and in what order."
    ),
    remediation=(
        "Drop the counter from secret tokens, or keep it only beside at least 128 bits from a "
        "CSPRNG (`secrets.token_urlsafe(32)`); use a separate, non-secret ID for ordering."
    ),
    references=(_CWE340, _CWE330, _OWASP_SESSION),
    flask_fix=_FLASK_TOKENS,
)

LOW_ENTROPY = Rule(
    id="KW804",
    title="Tokens hold too little entropy",
    cwe=(331, 330),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "Even if every character were perfectly random, the tokens' length and alphabet (or "
        "the positions that never change) leave fewer than 64 bits of entropy, OWASP's minimum "
        "for session identifiers. Below about 40 bits an online attacker can try them all."
    ),
    remediation=(
        "Issue tokens of at least 128 random bits: `secrets.token_urlsafe(32)` (256 bits) or "
        "`secrets.token_hex(16)` (128 bits)."
    ),
    references=("https://cwe.mitre.org/data/definitions/331.html", _CWE330, _OWASP_SESSION),
    flask_fix=_FLASK_TOKENS,
)

REPEATED = Rule(
    id="KW805",
    title="The same token is issued more than once",
    cwe=(330,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.HIGH,
    description=(
        "Independent requests received identical tokens far more often than a generator of "
        "this size would produce by chance: two clients can end up sharing a session, or the "
        "value is not a per-client secret at all."
    ),
    remediation=(
        "Generate every token fresh from a CSPRNG (`secrets.token_urlsafe(32)`), never from the "
        "time or a value shared between requests."
    ),
    references=(_CWE330, _OWASP_SESSION),
    flask_fix=_FLASK_TOKENS,
)

NON_RANDOM = Rule(
    id="KW806",
    title="Tokens fail statistical randomness tests",
    cwe=(330,),
    owasp_api="API2:2023",
    category=Category.AUTHENTICATION,
    severity=Severity.MEDIUM,
    description=(
        "Character or bit frequencies, transitions between tokens, FIPS 140-2 tests or "
        "compression show patterns a uniform generator would produce with negligible "
        "probability: some characters or bits are more likely than others, which lowers the "
        "work of guessing a token. The finding lists each test's p-value and the effective "
        "entropy per token."
    ),
    remediation=(
        "Use a CSPRNG and encode its bytes without bias (`secrets.token_urlsafe(32)`); avoid "
        "`random.choice` over an alphabet built with repeats and modulo reductions of small "
        "random numbers."
    ),
    references=(_CWE330, "https://csrc.nist.gov/pubs/sp/800/90/b/final", _OWASP_SESSION),
    flask_fix=_FLASK_TOKENS,
)

RULES = (PREDICTABLE_GENERATOR, TIME_BASED, SEQUENTIAL, LOW_ENTROPY, REPEATED, NON_RANDOM)
RULE_BY_KIND: Mapping[WeaknessKind, Rule] = {
    WeaknessKind.PREDICTED: PREDICTABLE_GENERATOR,
    WeaknessKind.TIME_BASED: TIME_BASED,
    WeaknessKind.SEQUENTIAL: SEQUENTIAL,
    WeaknessKind.LOW_ENTROPY: LOW_ENTROPY,
    WeaknessKind.REPEATED: REPEATED,
    WeaknessKind.NON_RANDOM: NON_RANDOM,
}


def entropy_summary(analysis: TokenAnalysis) -> str:
    s = analysis.structure
    text = f"at most {s.max_bits:.1f} bits varying, {s.unpredictable_bits:.1f} unpredictable"
    if analysis.effective_bits is not None:
        text += f"; effective {analysis.effective_bits:.1f} bits at significance {analysis.alpha:g}"
    return text


def tests_summary(analysis: TokenAnalysis) -> str:
    parts = []
    for test in analysis.tests:
        if test.verdict is Verdict.NOT_RUN:
            continue
        if test.p_value is not None:
            parts.append(f"{test.name} p={format_p(test.p_value)}")
        else:
            parts.append(f"{test.name} {test.verdict.value}")
    return "; ".join(parts) or "none had enough samples"


def finding_for(
    weakness: Weakness, analysis: TokenAnalysis, *, target: str, source: str
) -> Finding:
    """The finding a weakness becomes. Evidence is redacted already (see the analysis)."""
    rule = RULE_BY_KIND[weakness.kind]
    evidence = {
        "source": source,
        "samples": str(analysis.samples),
        "samples_needed": str(weakness.samples_needed),
        "entropy": entropy_summary(analysis),
        "tests": tests_summary(analysis),
        **dict(weakness.evidence),
    }
    return rule.finding(
        target=target,
        message=weakness.message,
        evidence=evidence,
        confidence=weakness.confidence,
        severity=weakness.severity,
        location=f"{source}:{weakness.location}",
    )


def findings(analysis: TokenAnalysis, *, target: str, source: str) -> list[Finding]:
    """Every weakness of ``analysis`` as a finding on ``target``, for tokens from ``source``."""
    return [finding_for(w, analysis, target=target, source=source) for w in analysis.weaknesses]
