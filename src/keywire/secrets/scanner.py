"""Find secrets in text and redact them on the spot.

>>> hits = find_secrets('{"key": "AKIAZ2XCV3BNM4QWE5RT"}', where="body")
>>> [(h.type.id, str(h.redacted)[:6]) for h in hits]
[('aws-access-key-id', 'AKIAZ2')]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..redact import Redacted, redact
from .catalogue import CATALOGUE, SecretType, shannon_entropy

MAX_HITS = 100


@dataclass(frozen=True, kw_only=True)
class SecretHit:
    """A secret found in a response; only its redacted form is kept."""

    type: SecretType
    redacted: Redacted
    where: str


def find_secrets(
    text: str, *, where: str, catalogue: Iterable[SecretType] = CATALOGUE
) -> list[SecretHit]:
    """Every secret of ``catalogue`` in ``text`` that passes its validator and entropy gate."""
    hits: list[SecretHit] = []
    seen: set[str] = set()
    lowered = text.lower()
    for secret_type in catalogue:
        if secret_type.keyword and secret_type.keyword not in lowered:
            continue
        for match in secret_type.pattern.finditer(text):
            value = match.group("secret")
            if value in seen:
                continue
            if secret_type.min_entropy and shannon_entropy(value) < secret_type.min_entropy:
                continue
            if secret_type.validate is not None and not secret_type.validate(value):
                continue
            seen.add(value)
            hits.append(SecretHit(type=secret_type, redacted=redact(value), where=where))
            if len(hits) >= MAX_HITS:
                return hits
    return hits
