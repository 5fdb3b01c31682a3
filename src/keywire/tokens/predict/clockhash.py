"""Tokens made by hashing a fine clock: ``md5(str(time.time()))``, ``sha1(Date.now())``,
PHP's ``md5(uniqid())``; found by hashing every instant the clock could have shown.

A server that hashes the time it issued a token issues tokens anyone can recompute: whoever
knows roughly *when* a token was made tries the few million values a clock shows in a second.
keywire does the same, but knows the instant far better: for every token collected live it
knows when the request left and when the answer came back, and the server's ``Date`` headers
bound how far the server's clock is from keywire's (:func:`clock_offset`). Each token was
therefore made inside a window of a few milliseconds on loopback, and rarely more than a second
elsewhere. The search tries every value each clock shows in that window, nearest the centre
first, within a time budget:

========================================  =========  ====================================
clock (what the server formats)           tick       e.g.
========================================  =========  ====================================
Python ``str(time.time())`` (repr)        2^-22 s    ``1700000000.1234567``
``int(time.time_ns() // 1000)``           1 µs       ``1700000000123456``
``'%.6f' % time.time()``                  1 µs       ``1700000000.123456``
PHP ``microtime()``                       1 µs       ``0.12345600 1700000000``
PHP ``uniqid()``                          1 µs       ``6553f100001e240``
PHP ``microtime(true)`` as a string       100 µs     ``1700000000.1235``
JS ``Date.now()``, ``int(time.time()*1000)``  1 ms   ``1700000000123``
JS ``Date.now() / 1000``                  1 ms       ``1700000000.123``
Python 2 ``str(time.time())``             10 ms      ``1700000000.12``
========================================  =========  ====================================

each hashed with MD5, SHA-1, SHA-256 or SHA-512 and written as hex (either case), base64 or
base64url (padded or not), whole or truncated to at least 8 bytes. A match of 64 bits or more
by chance is out of the question (the confirmation still computes the odds); once one token
matched, the others are searched with that generator only, near the same clock offset.

Not covered: nanosecond clocks (``time.time_ns()``: 10^9 values a second), salted or keyed
hashes (an HMAC of the time is as good as its key), local-time formats (``datetime.now()``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import operator
import re
import time
from collections.abc import Iterable, Sequence

from ..._dataclass import dataclass
from .._special import poisson_sf
from ._clocks import Clock, clocks_at

#: Tokens whose window is searched in full before the generator is known.
MAX_SEARCHED = 3
#: Further tokens checked against the generator once one matched (enough to be sure).
MAX_CONFIRMED = 20
#: Tokens every clock that could have written the first match is tried on, before the
#: confirmation goes on with the best of them only.
_VOTES = 4
#: Without a ``Date`` header (or a per-token time in a file), the server's clock is assumed to
#: be within this many seconds of keywire's; the search still starts at zero offset.
DEFAULT_SKEW_S = 2.0
_MIN_BYTES = 8
_CHUNK_S = 0.001
#: Around the likeliest instant, what is always searched (beyond the exchange itself).
_NEAR_S = 0.010
_HASHES = ("md5", "sha1", "sha256", "sha512")
_HEX = re.compile(r"[0-9a-fA-F]+")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, kw_only=True)
class Window:
    """Where, on the server's clock, a token was made: ``centre`` first, then outwards."""

    token: int
    low: float
    high: float
    centre: float
    spread: float = 0.0  # how long the exchange that brought the token took
    mid: float = 0.0  # the middle of that exchange, on keywire's clock


@dataclass(frozen=True, kw_only=True)
class ClockHash:
    """A generator that reproduced tokens from the instants they were issued at."""

    generator: str
    clock: str
    matched: int
    searched: int  # tokens whose windows were searched
    tried: int  # candidate values hashed
    coincidence: float
    offset_s: float  # server clock minus keywire's, as the matches place it
    cut: bool  # the budget stopped the search


def clock_offset(
    sent: Sequence[float], received: Sequence[float], dates: Sequence[float | None]
) -> tuple[float, float] | None:
    """Bounds on (server clock - keywire's clock) from the ``Date`` headers, or None.

    A ``Date`` of D means the server's clock showed [D, D+1) while keywire's showed something
    in [sent, received]: so the offset is within [D - received, D + 1 - sent]. Each response
    narrows the interval; responses that straddle a second boundary pin it down well. An empty
    intersection (a proxy's cached Date, say) gives None: nothing is assumed.
    """
    low, high = -math.inf, math.inf
    for s, r, d in zip(sent, received, dates, strict=False):
        if d is None:
            continue
        low, high = max(low, d - r), min(high, d + 1 - s)
    if low == -math.inf or low > high:
        return None
    return low, high


def windows(
    sent: Sequence[float] | None,
    received: Sequence[float],
    dates: Sequence[float | None] | None = None,
    *,
    skew: float = DEFAULT_SKEW_S,
) -> list[Window]:
    """Each token's window on the server's clock, from when it was requested and received.

    With only one time per token (a file), ``sent`` is None and the window is ``skew`` either
    side of it.
    """
    sent = sent if sent is not None else received
    offset = clock_offset(sent, received, dates) if dates else None
    out = []
    for i, (s, r) in enumerate(zip(sent, received, strict=False)):
        if offset is None:
            low, high, centre = s - skew, r + skew, (s + r) / 2
        else:
            # Most servers keep their clock in step (NTP): no offset is the likeliest when the
            # Date headers allow it; otherwise the middle of what they allow.
            low, high = s + offset[0], r + offset[1]
            likeliest = 0.0 if offset[0] <= 0.0 <= offset[1] else sum(offset) / 2
            centre = (s + r) / 2 + likeliest
        out.append(
            Window(token=i, low=low, high=high, centre=centre, spread=r - s, mid=(s + r) / 2)
        )
    return out


def decodings(token: str) -> list[tuple[str, bytes]]:
    """The byte strings ``token`` can be the encoding of (hex, base64, base64url), each with
    how the digest was written."""
    found: list[tuple[str, bytes]] = []
    if len(token) % 2 == 0 and len(token) >= 2 * _MIN_BYTES and _HEX.fullmatch(token):
        case = "hexdigest().upper()" if any(c in "ABCDEF" for c in token) else "hexdigest()"
        found.append((case, bytes.fromhex(token)))
    if len(token) < 11:
        return found
    bare = token.rstrip("=")
    if any(c in "-_" for c in bare):
        name, pattern, decode = "base64url", _B64URL, base64.urlsafe_b64decode
    else:
        # Without a distinctive character either alphabet reads it; padding says which is
        # likelier (urlsafe_b64encode(...).rstrip(b"=") is the common way to make a token).
        name = "base64" if token.endswith("=") or any(c in "+/" for c in bare) else "base64url"
        pattern, decode = _B64, base64.b64decode
    if not pattern.fullmatch(token):
        return found
    try:
        data = decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        return found
    encode = base64.urlsafe_b64encode if name == "base64url" else base64.b64encode
    if len(data) >= _MIN_BYTES and encode(data).decode().rstrip("=") == bare:
        found.append((f"digest() as {name}", data))
    return found


class _Tables:
    """The decoded tokens, by length, for each hash they could be a (truncated) digest of."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.by_length: dict[int, dict[bytes, tuple[int, str]]] = {}
        for index, token in enumerate(tokens):
            for encoding, data in decodings(token):
                self.by_length.setdefault(len(data), {}).setdefault(data, (index, encoding))
        self.hashes = [
            (name, getattr(hashlib, name), hashlib.new(name).digest_size) for name in _HASHES
        ]

    def __bool__(self) -> bool:
        return bool(self.by_length)

    def chance(self) -> float:
        """Probability that one hashed candidate matches some token by coincidence."""
        per_hash = sum(
            len(table) * 2.0 ** (-8 * length)
            for length, table in self.by_length.items()
            for _name, _h, size in self.hashes
            if length <= size
        )
        return per_hash

    def find(
        self, values: list[bytes], only: tuple[str, int] | None = None
    ) -> list[tuple[int, str, int, str]]:
        """Matches among ``values``: (position, hash, token index, encoding); ``only`` limits
        the search to one hash and one decoded length."""
        hits = []
        digest = operator.methodcaller("digest")
        for name, make, size in self.hashes:
            if only is not None and only[0] != name:
                continue
            digests = list(map(digest, map(make, values)))
            for length, table in self.by_length.items():
                if length > size or (only is not None and only[1] != length):
                    continue
                heads = digests if length == size else [d[:length] for d in digests]
                if table.keys().isdisjoint(heads):
                    continue
                for position, head in enumerate(heads):
                    hit = table.get(head)
                    if hit is not None:
                        hits.append((position, name, hit[0], hit[1]))
        return hits


def _spans_outwards(window: Window, step: float) -> Iterable[tuple[float, float]]:
    """Intervals of ``step`` seconds covering ``window``, nearest ``window.centre`` first."""
    centre = min(max(window.centre, window.low), window.high)
    up = down = centre
    while up < window.high or down > window.low:
        if up < window.high:
            yield up, min(up + step, window.high)
            up += step
        if down > window.low:
            yield max(down - step, window.low), down
            down -= step


def _ticks(clock: Clock, low: float, high: float) -> range:
    """The ticks of ``clock`` in [low, high)."""
    return range(math.ceil(low / clock.tick), math.ceil(high / clock.tick))


def search(
    tokens: Sequence[str], spans: Sequence[Window], *, budget_s: float = 2.0
) -> tuple[ClockHash | None, int, bool]:
    """Search the windows; returns the confirmed generator (or None), the candidates tried and
    whether the search was cut short (by the budget, or because a window was far too wide to
    cover: then only the neighbourhood of its likeliest instant was searched)."""
    tables = _Tables(tokens)
    if not tables or not spans:
        return None, 0, False
    started = time.perf_counter()
    deadline = started + budget_s
    ordered = sorted(spans, key=lambda w: w.high - w.low)[:MAX_SEARCHED]
    tried = 0
    cut = False
    for window in ordered:
        coarse, fine = clocks_at(window.centre)
        # The coarse clocks cost little over the whole window; the fine ones are tried
        # together, one millisecond at a time, from the most likely instant outwards.
        plan = [(coarse, (window.low, window.high))] + [
            (fine, interval) for interval in _spans_outwards(window, _CHUNK_S)
        ]
        near = window.spread / 2 + _NEAR_S
        chunk_started = 0.0
        reach = math.inf
        for step, (clocks, (low, high)) in enumerate(plan):
            if step == 1:
                chunk_started = time.perf_counter()
            elif step == 2 and _hopeless(window, time.perf_counter() - chunk_started, budget_s):
                # Only the likeliest instants can be covered: search there, then give up on
                # this window rather than spend the budget on a sliver of it.
                reach, cut = near, True
            if step and abs((low + high) / 2 - window.centre) > reach:
                break  # the intervals come outwards: all the others are further still
            for clock in clocks:
                ticks = _ticks(clock, low, high)
                values = list(clock.render(ticks))
                tried += len(values)
                hits = tables.find(values)
                if hits:
                    position, name, index, encoding = hits[0]
                    instant = ticks[position] * clock.tick
                    first = (index, name, encoding, values[position])
                    return _confirm(tokens, spans, tables, first, instant, tried, deadline)
            if time.perf_counter() > deadline:
                return None, tried, True
        if cut:
            break  # the other windows are as wide: they would only repeat the same sliver
    return None, tried, cut


def _hopeless(window: Window, chunk_cost_s: float, budget_s: float) -> bool:
    """Whether covering the whole window would take more than four budgets."""
    return (window.high - window.low) / _CHUNK_S * chunk_cost_s > 4 * budget_s


def _writers(value: bytes, instant: float) -> list[Clock]:
    """Every clock that writes ``value`` at ``instant``: several can agree on one string
    (``'%.6f' % t`` and ``repr(t)`` when the latter has six decimals), so the others decide."""
    coarse, fine = clocks_at(instant)
    found = []
    for clock in (*coarse, *fine):
        near = _ticks(clock, instant - 2 * clock.tick, instant + 2 * clock.tick)
        if value in clock.render(near):
            found.append(clock)
    return found


def _confirm(
    tokens: Sequence[str],
    spans: Sequence[Window],
    tables: _Tables,
    first: tuple[int, str, str, bytes],
    instant: float,
    tried: int,
    deadline: float,
) -> tuple[ClockHash | None, int, bool]:
    """One token matched: look for the others with the same hash, near the same clock offset,
    with every clock that could have written the matched value; the clock that reproduces the
    most tokens is the generator."""
    first_index, hash_name, encoding, value = first
    by_token = {w.token: w for w in spans}
    start = by_token[first_index]
    offset = instant - start.centre
    length = len(next(d for e, d in decodings(tokens[first_index]) if e == encoding))
    # On a tie the coarsest clock wins: every '%.6f' string is also the repr() of some float,
    # so the simpler explanation is the right one.
    candidates = sorted(_writers(value, instant), key=lambda c: -c.tick)
    scores = {clock.name: 1 for clock in candidates}
    cut = False
    others = [w for w in spans if w.token != first_index][:MAX_CONFIRMED]
    for checked, window in enumerate(others):
        if checked == _VOTES and len(candidates) > 1:
            best = max(scores[c.name] for c in candidates)
            candidates = [c for c in candidates if scores[c.name] == best]
        # Same offset, give or take how long each exchange took (plus a millisecond).
        guess = min(max(window.centre + offset, window.low), window.high)
        reach = (start.spread + window.spread) / 2 + _CHUNK_S
        near = Window(
            token=window.token,
            low=max(window.low, guess - reach),
            high=min(window.high, guess + reach),
            centre=guess,
        )
        for clock in candidates:
            for low, high in _spans_outwards(near, _CHUNK_S):
                values = list(clock.render(_ticks(clock, low, high)))
                tried += len(values)
                hits = tables.find(values, (hash_name, length))
                if any(hit[2] == window.token for hit in hits):
                    scores[clock.name] += 1
                    break
        if time.perf_counter() > deadline:
            cut = True
            break
    clock = max(candidates, key=lambda c: scores[c.name])
    matched = scores[clock.name]
    coincidence = poisson_sf(matched, tried * tables.chance())
    if coincidence > 1e-6:
        return None, tried, cut
    return (
        ClockHash(
            generator=f"{hash_name}({clock.name}).{_written(encoding, length, hash_name)}",
            clock=clock.name + (f" (also {clock.also})" if clock.also else ""),
            matched=matched,
            searched=1 + min(len(others), checked + 1 if others else 0),
            tried=tried,
            coincidence=coincidence,
            offset_s=instant - start.mid,
            cut=cut,
        ),
        tried,
        cut,
    )


def _written(encoding: str, length: int, hash_name: str) -> str:
    """How the digest became the token, as code: ``hexdigest()[:16]``, ``digest() as base64``."""
    whole = length == hashlib.new(hash_name).digest_size
    if encoding.startswith("hexdigest()"):
        cut = "" if whole else f"[:{2 * length}]"
        return "hexdigest()" + cut + (".upper()" if encoding.endswith(".upper()") else "")
    cut = "" if whole else f"[:{length}]"
    return "digest()" + cut + encoding.removeprefix("digest()")
