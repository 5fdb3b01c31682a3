"""Find secrets in text and redact them on the spot.

Running ~50 regular expressions over a large body one after the other is slow (each is a full
pass that tries every position). Nearly every catalogue entry has a literal where its match starts
(``sk_live_``, ``AKIA``) or a literal inside it (``.atlasv1.``): the scanner finds those with
``str.find``, which is a fast C loop, and runs the expression only at those places. Entries without
a literal fall back to a full pass. Candidates per entry are bounded, so a hostile body full of
prefixes costs a bounded amount of work.

>>> hits = find_secrets('{"key": "AKIA' + 'Z2XCV3BNM4QWE5RT"}', where="body")
>>> [(h.type.id, str(h.redacted)[:6]) for h in hits]
[('aws-access-key-id', 'AKIAZ2')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .._dataclass import dataclass
from ..redact import Redacted, redact
from .catalogue import CATALOGUE, SecretType
from .validators import shannon_entropy

MAX_HITS = 100
#: Places tried per catalogue entry and text; past this the entry stops (hostile input).
MAX_CANDIDATES = 200_000


@dataclass(frozen=True, kw_only=True)
class SecretHit:
    """A secret found in a response; only its redacted form (and non-secret facts) is kept."""

    type: SecretType
    redacted: Redacted
    where: str
    facts: tuple[tuple[str, str], ...] = ()

    def fact(self, name: str) -> str | None:
        return next((value for key, value in self.facts if key == name), None)


class _Occurrences:
    """Where each literal occurs in a text; several entries share a literal, it is searched once.

    A literal with a character the text does not contain at all cannot occur in it: that is
    known from one ``in`` test per character (a ``memchr``, which stops at the first occurrence),
    and spares a search of the whole text (JSON in lower case holds none of the upper-case
    prefixes, ``AKIA``, ``AIza``, ``GOCSPX-``...).
    """

    def __init__(self, text: str, lowered: str) -> None:
        self._texts = {False: text, True: lowered}
        self._found: dict[tuple[str, bool], list[int]] = {}
        self._has: dict[tuple[str, bool], bool] = {}

    def _may_contain(self, literal: str, folded: bool) -> bool:
        haystack = self._texts[folded]
        for char in literal:
            key = (char, folded)
            present = self._has.get(key)
            if present is None:
                present = self._has[key] = char in haystack
            if not present:
                return False
        return True

    def of(self, literal: str, folded: bool = False) -> list[int]:
        key = (literal, folded)
        found = self._found.get(key)
        if found is None:
            haystack = self._texts[folded]
            found = []
            start = haystack.find(literal) if self._may_contain(literal, folded) else -1
            while start != -1 and len(found) < MAX_CANDIDATES:
                found.append(start)
                start = haystack.find(literal, start + 1)
            self._found[key] = found
        return found

    def any_of(self, literals: Iterable[str], folded: bool = False) -> list[int]:
        found: set[int] = set()
        for literal in literals:
            found.update(self.of(literal, folded))
        return sorted(found)[:MAX_CANDIDATES]


def _matches(
    secret_type: SecretType, text: str, occurrences: _Occurrences
) -> Iterator[re.Match[str]]:
    pattern = secret_type.pattern
    if secret_type.prefixes:
        for start in occurrences.any_of(secret_type.prefixes):
            match = pattern.match(text, start)
            if match is not None:
                yield match
        return
    if secret_type.anchors:
        back, forward = secret_type.window
        covered = -1
        for at in occurrences.any_of(secret_type.anchors, secret_type.anchors_ci):
            if at < covered:
                continue  # inside the last match
            match = pattern.search(text, max(0, at - back), min(len(text), at + forward))
            if match is not None:
                covered = match.end()
                yield match
        return
    if secret_type.locator is not None:
        back = secret_type.window[0]
        for count, tail in enumerate(secret_type.locator.finditer(text)):
            if count >= MAX_CANDIDATES:
                return
            match = pattern.search(text, max(0, tail.start() - back), tail.end())
            if match is not None:
                yield match
        return
    yield from pattern.finditer(text)


def find_secrets(
    text: str,
    *,
    where: str,
    catalogue: Iterable[SecretType] = CATALOGUE,
    errors: list[str] | None = None,
) -> list[SecretHit]:
    """Every secret of ``catalogue`` in ``text`` that passes its validator and entropy gate.

    With ``errors``, a validator that fails on one candidate (a bug, or input it did not
    expect) costs that candidate only: the failure is appended there and the search goes on,
    so the other secrets in the same text are still found. Without it, the exception is raised.
    """
    hits: list[SecretHit] = []
    for secret_type, value in _secrets_in(text, catalogue, errors=errors):
        try:
            described = secret_type.describe(value) if secret_type.describe else {}
        except Exception as exc:
            if errors is None:
                raise
            errors.append(_failure(exc, secret_type))
            described = {}
        facts = tuple(described.items())
        hits.append(SecretHit(type=secret_type, redacted=redact(value), where=where, facts=facts))
    return hits


def _failure(exc: Exception, secret_type: SecretType) -> str:
    # The value is never quoted: only the type of the failure and the catalogue entry.
    return f"{type(exc).__name__} while checking a {secret_type.id} candidate"


def redact_secrets(text: str, *, catalogue: Iterable[SecretType] = CATALOGUE) -> str:
    """``text`` with every secret :func:`find_secrets` would report replaced by its redacted form.

    For text keywire shows that quotes a response (a header value in a finding's message, a URL
    in its evidence): the secret is reported once as its own finding, and shown nowhere raw.

    >>> redact_secrets("max-age=sk_live_" + "0123456789abcdefABCDEFGH")
    'max-age=sk_liv…EFGH (sha256:a3cdd5e8…)'
    """
    for value in secret_values(text, catalogue=catalogue):
        text = text.replace(value, str(redact(value)))
    return text


def secret_values(text: str, *, catalogue: Iterable[SecretType] = CATALOGUE) -> list[str]:
    """The raw value of each distinct secret :func:`find_secrets` would report in ``text``.

    For hiding them: a candidate whose validator fails is counted as a secret.
    """
    return [value for _type, value in _secrets_in(text, catalogue, secret_on_error=True)]


def _secrets_in(
    text: str,
    catalogue: Iterable[SecretType],
    *,
    errors: list[str] | None = None,
    secret_on_error: bool = False,
) -> Iterator[tuple[SecretType, str]]:
    """(type, raw value) of each distinct secret in ``text``, at most :data:`MAX_HITS`.

    A validator that raises: with ``secret_on_error`` the candidate counts as a secret (safe
    for hiding), with ``errors`` it is skipped and the failure recorded, else it propagates.
    """
    seen: set[str] = set()
    lowered = text.lower()
    occurrences = _Occurrences(text, lowered)
    for secret_type in catalogue:
        if secret_type.keyword and secret_type.keyword not in lowered:
            continue
        for match in _matches(secret_type, text, occurrences):
            value = match.group("secret")
            if value in seen:
                continue
            if secret_type.min_entropy and shannon_entropy(value) < secret_type.min_entropy:
                continue
            try:
                if secret_type.validate is not None and not secret_type.validate(value):
                    continue
            except Exception as exc:
                if errors is not None:
                    errors.append(_failure(exc, secret_type))
                    continue
                if not secret_on_error:
                    raise
            seen.add(value)
            yield secret_type, value
            if len(seen) >= MAX_HITS:
                return
