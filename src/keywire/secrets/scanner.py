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
from collections.abc import Iterable, Iterator, Sequence

from .._dataclass import dataclass
from ..redact import Redacted, redact
from .catalogue import CATALOGUE, SecretType
from .validators import shannon_entropy

MAX_HITS = 100
#: Places tried per catalogue entry and text; past this the entry stops (hostile input).
MAX_CANDIDATES = 200_000
#: Texts up to this many characters are searched for each literal directly (see _Occurrences).
_SHORT_TEXT = 512
#: Texts from this many characters on locate literals by their rare characters (see _Occurrences).
_LONG_TEXT = 16_384
#: Occurrences past which a character is too frequent to locate a literal by.
_RARE = 32
#: Characters a character's frequency is first glanced at in (frequent there: not listed).
_GLANCE = 2_048


@dataclass(frozen=True, kw_only=True)
class SecretHit:
    """A secret found in a response; only its redacted form (and non-secret facts) is kept."""

    type: SecretType
    redacted: Redacted
    where: str
    facts: tuple[tuple[str, str], ...] = ()

    def fact(self, name: str) -> str | None:
        return next((value for key, value in self.facts if key == name), None)


#: Short prefixes spelled out: every match of an entry with the prefix starts with one of these
#: (tests/test_secrets.py checks it against the patterns). In a long text where each of them is
#: located by a rare character (``_``, ``-``), the short prefix needs no search of its own.
SPELLED: dict[str, tuple[str, ...]] = {
    "gh": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "gl": ("glpat-", "gldt-", "glptt-", "glrt-", "glsa_", "glc_"),
    "shp": ("shpat_", "shpss_", "shpca_", "shppa_"),
}


class _Occurrences:
    """Where each literal occurs in a text; several entries share a literal, it is searched once.

    A literal with a character the text does not contain at all cannot occur in it: that is
    known from one ``in`` test per character (a ``memchr``, which stops at the first occurrence),
    and spares a search of the whole text (JSON in lower case holds none of the upper-case
    prefixes, ``AKIA``, ``AIza``, ``GOCSPX-``...). A short text (a header, a URL) is searched
    at once: there, keeping track of its characters costs more than the search.

    In a long text, a character that occurs only a few times (at most :data:`_RARE`; listed by
    ``memchr`` too) locates every literal that contains it: the literal is compared at those
    few places instead of searched through the whole text (in a large JSON body, ``_`` or ``v``
    may occur in one key only, and ``npm_``, ``hf_``, ``hv`` then cost nothing).
    """

    def __init__(self, text: str, lowered: str) -> None:
        self._texts = (text, lowered)
        self._found: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        self._has: dict[tuple[str, bool], bool] = {}
        self._places: dict[tuple[str, bool], list[int] | None] = {}
        self._short = len(text) <= _SHORT_TEXT
        self._long = len(text) >= _LONG_TEXT

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

    def _where(self, char: str, folded: bool) -> list[int] | None:
        """Where ``char`` occurs (ascending), or None if more than :data:`_RARE` times."""
        key = (char, folded)
        if key in self._places:
            return self._places[key]
        haystack = self._texts[folded]
        present = self._has.get(key)
        if present is None:
            present = self._has[key] = char in haystack
        places: list[int] | None = []
        if present and haystack.count(char, 0, _GLANCE) > _RARE:
            places = None  # frequent from the start: not worth listing
        elif present:
            found: list[int] = []
            at = haystack.find(char)
            while at != -1 and len(found) <= _RARE:
                found.append(at)
                at = haystack.find(char, at + 1)
            places = found if len(found) <= _RARE else None
        self._places[key] = places
        return places

    def _rare_search(self, literal: str, folded: bool) -> list[int] | None:
        """Where ``literal`` starts, found from its rarest character's places; None if each of
        its characters is too frequent for that."""
        best: tuple[int, list[int]] | None = None
        for offset, char in enumerate(literal):
            places = self._where(char, folded)
            if places is None:
                continue
            if not places:
                return []  # a character the text lacks
            if best is None or len(places) < len(best[1]):
                best = (offset, places)
        if best is None:
            return None
        offset, places = best
        haystack = self._texts[folded]
        return [
            at - offset
            for at in places
            if at >= offset and haystack.startswith(literal, at - offset)
        ]

    def _spelled(self, literal: str) -> list[int] | None:
        """Where ``literal`` starts a match (see :data:`SPELLED`), found from the rare
        characters of its spelled-out forms; None if one of them has none."""
        found: set[int] = set()
        for spelled in SPELLED[literal]:
            places = self._rare_search(spelled, False)
            if places is None:
                return None
            found.update(places)
        return sorted(found)

    def of(self, literal: str, folded: bool = False) -> list[int]:
        """Where ``literal`` starts (ascending, at most :data:`MAX_CANDIDATES`); for a prefix
        in :data:`SPELLED`, possibly only where one of its spelled-out forms starts."""
        known = self._found[folded]
        found = known.get(literal)
        if found is None:
            haystack = self._texts[folded]
            found = None
            if self._long:
                found = self._rare_search(literal, folded)
                if found is None and not folded and literal in SPELLED:
                    found = self._spelled(literal)
            if found is None:
                found = []
                if self._short or self._may_contain(literal, folded):
                    start = haystack.find(literal)
                    while start != -1 and len(found) < MAX_CANDIDATES:
                        found.append(start)
                        start = haystack.find(literal, start + 1)
            known[literal] = found
        return found

    def any_of(self, literals: Sequence[str], folded: bool = False) -> list[int]:
        """Where any of ``literals`` starts (ascending, distinct, at most :data:`MAX_CANDIDATES`)."""
        if len(literals) == 1:
            return self.of(literals[0], folded)
        found: set[int] = set()
        for literal in literals:
            found.update(self.of(literal, folded))
        return sorted(found)[:MAX_CANDIDATES]


@dataclass(frozen=True)
class _Literals:
    """A catalogue's literals (each once, with whether it is sought in lower case), and its
    entries that have none (they are tried on every text)."""

    literals: tuple[tuple[str, bool], ...]
    unlocated: tuple[SecretType, ...]

    def occur(self, text: str, lowered: str, occurrences: _Occurrences) -> bool:
        """Whether any of the literals occurs in ``text`` (``lowered``: its lower case)."""
        if len(text) <= _SHORT_TEXT:  # one `in` test each, without the bookkeeping
            return any(
                literal in (lowered if folded else text) for literal, folded in self.literals
            )
        return any(occurrences.of(literal, folded) for literal, folded in self.literals)


_LITERALS: dict[int, tuple[tuple[SecretType, ...], _Literals]] = {}


def _literals(catalogue: Iterable[SecretType]) -> _Literals | None:
    """The :class:`_Literals` of ``catalogue`` (a tuple, such as :data:`CATALOGUE`; None for
    any other iterable), worked out once."""
    if not isinstance(catalogue, tuple):
        return None
    known = _LITERALS.get(id(catalogue))
    if known is not None and known[0] is catalogue:
        return known[1]
    literals: dict[tuple[str, bool], None] = {}
    for entry in catalogue:
        for literal in entry.prefixes:
            literals[literal, False] = None
        if not entry.prefixes:
            for literal in entry.anchors:
                literals[literal, entry.anchors_ci] = None
    unlocated = tuple(e for e in catalogue if not e.prefixes and not e.anchors)
    found = _Literals(literals=tuple(literals), unlocated=unlocated)
    if len(_LITERALS) >= 16:
        _LITERALS.clear()
    _LITERALS[id(catalogue)] = (catalogue, found)
    return found


def _matches(secret_type: SecretType, text: str, starts: Sequence[int]) -> Iterator[re.Match[str]]:
    """The matches of ``secret_type`` in ``text``; ``starts``: where its literals occur."""
    pattern = secret_type.pattern
    if secret_type.prefixes:
        for start in starts:
            match = pattern.match(text, start)
            if match is not None:
                yield match
        return
    if secret_type.anchors:
        back, forward = secret_type.window
        covered = -1
        for at in starts:
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
    entries = _literals(catalogue)
    if entries is not None and not entries.occur(text, lowered, occurrences):
        catalogue = entries.unlocated  # no literal occurs: only the entries without one can match
    for secret_type in catalogue:
        if secret_type.keyword and secret_type.keyword not in lowered:
            continue
        # Most entries' literals occur nowhere in a given text: those end here.
        starts: Sequence[int] = ()
        if secret_type.prefixes:
            starts = occurrences.any_of(secret_type.prefixes)
            if not starts:
                continue
        elif secret_type.anchors:
            starts = occurrences.any_of(secret_type.anchors, secret_type.anchors_ci)
            if not starts:
                continue
        for match in _matches(secret_type, text, starts):
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
