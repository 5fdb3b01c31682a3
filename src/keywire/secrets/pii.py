"""Personal data in responses: payment card numbers, IBANs and e-mail addresses.

A data-driven table like the secret catalogue, with the same discipline against false positives:
card numbers must pass Luhn *and* match a card network's prefix and length; IBANs must pass the
ISO 13616 mod-97 check; e-mail addresses at reserved example domains are ignored. Values are
redacted where they are found.

>>> [h.kind for h in find_pii("card 4556 7375 8689 9855, mail ana@corp.example.org")]
['payment-card']
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._dataclass import dataclass
from .._models import Severity
from ..redact import Redacted, redact
from .validators import luhn_ok

MAX_PII_HITS = 50


@dataclass(frozen=True, kw_only=True)
class PiiType:
    id: str
    name: str
    severity: Severity
    pattern: re.Pattern[str]
    normalise: Callable[[str], str]
    validate: Callable[[str], bool]


@dataclass(frozen=True, kw_only=True)
class PiiHit:
    kind: str
    name: str
    severity: Severity
    redacted: Redacted


# Card networks: (prefix ranges, lengths). ISO/IEC 7812 IINs of the major networks.
_NETWORKS: tuple[tuple[tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    (((4, 4),), (13, 16, 19)),  # Visa
    (((51, 55), (2221, 2720)), (16,)),  # Mastercard
    (((34, 34), (37, 37)), (15,)),  # American Express
    (((6011, 6011), (644, 649), (65, 65)), (16, 19)),  # Discover
    (((3528, 3589),), (16, 19)),  # JCB
    (((300, 305), (36, 36), (38, 39)), (14, 16, 19)),  # Diners Club
)


def _digits(text: str) -> str:
    return re.sub(r"[ \-]", "", text)


def card_number_ok(digits: str) -> bool:
    """Luhn, a known network prefix and a length that network issues.

    Numbers made of one or two repeated digits are the networks' published test numbers
    (4111 1111 1111 1111, 4242 4242 4242 4242, …) or filler, not a person's card.
    """
    if not digits.isdigit() or len(set(digits)) < 3 or not luhn_ok(digits):
        return False
    for ranges, lengths in _NETWORKS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return True
    return False


def iban_ok(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    if not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


_RESERVED_DOMAINS = re.compile(
    r"(?:^|\.)(?:example\.(?:com|org|net)|[^.]+\.(?:test|invalid|example|localhost|local))$", re.I
)


def email_ok(address: str) -> bool:
    domain = address.rsplit("@", 1)[1]
    return not _RESERVED_DOMAINS.search(domain) and domain.lower() != "localhost"


PII_TYPES: tuple[PiiType, ...] = (
    PiiType(
        id="payment-card",
        name="payment card number",
        severity=Severity.HIGH,
        pattern=re.compile(r"(?<![0-9.\-])(?:[0-9][ \-]?){12,18}[0-9](?![0-9.\-]?[0-9])"),
        normalise=_digits,
        validate=card_number_ok,
    ),
    PiiType(
        id="iban",
        name="bank account number (IBAN)",
        severity=Severity.MEDIUM,
        pattern=re.compile(
            r"(?<![A-Z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])"
        ),
        normalise=lambda text: text.replace(" ", ""),
        validate=iban_ok,
    ),
    PiiType(
        id="email",
        name="e-mail address",
        severity=Severity.LOW,
        pattern=re.compile(
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
        ),
        normalise=lambda text: text,
        validate=email_ok,
    ),
)


def find_pii(text: str, *, types: tuple[PiiType, ...] = PII_TYPES) -> list[PiiHit]:
    """Personal data of ``types`` in ``text``, each distinct value once, redacted."""
    hits: list[PiiHit] = []
    seen: set[str] = set()
    for pii in types:
        for match in pii.pattern.finditer(text):
            value = pii.normalise(match.group(0))
            if value in seen or not pii.validate(value):
                continue
            seen.add(value)
            hits.append(
                PiiHit(kind=pii.id, name=pii.name, severity=pii.severity, redacted=redact(value))
            )
            if len(hits) >= MAX_PII_HITS:
                return hits
    return hits
