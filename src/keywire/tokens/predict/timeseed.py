"""Time-seeded generators: tokens made from the clock, found by trying every nearby instant.

A server that does ``random.seed(int(time.time()))`` before making a token, or returns
``md5(str(int(time.time())))``, issues tokens anyone can recompute. keywire tries every Unix second
within ``window_s`` of the sampling time (and, when each token's capture time is known, every
millisecond within two seconds of the first few) with these generators:

* Python ``random`` seeded with the instant, then ``getrandbits(n)`` for n = 32, 64, 128, … (which
  covers ``randbytes`` too), read in every encoding of :mod:`keywire.tokens.predict._streams`;
* ``md5``, ``sha1`` and ``sha256`` of ``str(instant)``, whole or truncated;
* for alphanumeric tokens, ``random.choices(alphabet, k=n)`` and ``random.choice`` in a loop, over
  the usual alphabets.

The search is bounded in seeds and in time; a match is confirmed when chance cannot explain it
(fewer than one in a million expected coincidences).
"""

from __future__ import annotations

import hashlib
import math
import random
import string
import time
from collections.abc import Callable, Sequence

from ..._dataclass import dataclass
from .._alphabet import Charset
from .._special import poisson_sf
from ._streams import Stream

_ALPHABETS = (
    ("letters+digits", string.ascii_letters + string.digits),
    ("lowercase+digits", string.ascii_lowercase + string.digits),
    ("uppercase+digits", string.ascii_uppercase + string.digits),
)
_HASHES = ("md5", "sha1", "sha256")
_PREFIX = 8
_MS_SPAN = 2000
_MS_TOKENS = 3


@dataclass(frozen=True, kw_only=True)
class TimeSeeded:
    """A generator that reproduced tokens from instants near the sampling time."""

    generator: str
    unit: str
    matched: int
    first_seed: int
    last_seed: int
    upcoming: tuple[str, ...]  # raw: the caller redacts
    seeds_tried: int
    coincidence: float  # probability of this many matches by chance


@dataclass
class _Candidate:
    name: str
    make: Callable[[int], str]
    bits: float


def search(
    tokens: Sequence[str],
    *,
    charset: Charset,
    streams: Sequence[Stream],
    around: Sequence[float],
    window_s: float,
    token_times: Sequence[float] | None = None,
    budget_s: float = 2.0,
    upcoming: int = 2,
    token_bits: float = 128.0,
) -> tuple[TimeSeeded | None, int, bool]:
    """Search; returns the best confirmed match (or None), the seeds tried and whether the time
    budget cut the search short.

    ``token_bits`` bounds how many values a token of this format can take: a generator hitting
    one of the distinct tokens by chance is no evidence, and the confirmation accounts for it.
    """
    if not tokens:
        return None, 0, False
    deadline = time.perf_counter() + budget_s
    lowered = {t.lower(): i for i, t in enumerate(tokens)}
    hex_lengths = sorted({len(t) for t in lowered if all(c in string.hexdigits for c in t)})
    by_width: dict[int, dict[int, tuple[int, Stream]]] = {}
    for stream in streams:
        if stream.signed:
            continue
        table = by_width.setdefault(stream.bits, {})
        for i, value in enumerate(stream.values):
            table.setdefault(value, (i, stream))
    widest = max(by_width, default=0)
    alphabets = [
        (name, chars)
        for name, chars in _ALPHABETS
        if charset.size > 16 and all(set(t) <= set(chars) for t in tokens[:50])
    ]
    prefixes = {t[:_PREFIX]: i for i, t in enumerate(tokens)} if alphabets else {}
    length = len(tokens[0])

    matches: dict[str, list[tuple[int, int]]] = {}
    # Reproducing a weak generator is the point here, hence random.Random (S311).
    rng = random.Random()  # noqa: S311
    tried = 0
    cut = False

    def record(name: str, seed: int, token_index: int) -> None:
        matches.setdefault(name, []).append((seed, token_index))

    def try_seed(seed: int, unit: str) -> None:
        if widest:
            rng.seed(seed)
            value = rng.getrandbits(widest)
            for width, table in by_width.items():
                hit = table.get(value & ((1 << width) - 1))
                if hit is not None:
                    record(f"{unit}|random|{width}|{hit[1].name}", seed, hit[0])
        if hex_lengths:
            text = str(seed).encode()
            for algorithm in _HASHES:
                digest = hashlib.new(algorithm, text).hexdigest()
                for size in hex_lengths:
                    hit_index = lowered.get(digest[:size])
                    if hit_index is not None:
                        record(f"{unit}|{algorithm}|{size}", seed, hit_index)
        for name, chars in alphabets:
            rng.seed(seed)
            made = "".join(rng.choices(chars, k=_PREFIX))
            if made in prefixes:
                record(f"{unit}|choices|{name}", seed, prefixes[made])
            rng.seed(seed)
            made = "".join([rng.choice(chars) for _ in range(_PREFIX)])
            if made in prefixes:
                record(f"{unit}|choice|{name}", seed, prefixes[made])

    plans: list[tuple[str, range]] = [
        ("s", range(math.floor(min(around) - window_s), math.ceil(max(around) + window_s) + 1))
    ]
    if token_times:
        for when in list(token_times)[:_MS_TOKENS]:
            centre = int(when * 1000)
            plans.append(("ms", range(centre - _MS_SPAN, centre + _MS_SPAN + 1)))
    for unit, seeds in plans:
        for seed in seeds:
            try_seed(seed, unit)
            tried += 1
            if tried % 256 == 0 and time.perf_counter() > deadline:
                cut = True
                break
        if cut:
            break

    best: TimeSeeded | None = None
    generators = max(1, len(by_width) + len(hex_lengths) * len(_HASHES) + 2 * len(alphabets))
    for key, hits in matches.items():
        distinct = sorted({(seed, i) for seed, i in hits})
        matched = len({i for _, i in distinct})
        candidate = _candidate(key, tokens, streams, length)
        # Matches a wrong generator would make by chance: every instant tried, every reading,
        # against every token, each a hit with probability 2^-bits.
        bits = min(candidate.bits, token_bits)
        expected = tried * generators * len(lowered) * 2.0 ** (-bits)
        coincidence = poisson_sf(matched, expected)
        if coincidence > 1e-6:
            continue
        seeds_hit = [seed for seed, _ in distinct]
        last = max(seeds_hit)
        following = tuple(candidate.make(last + k) for k in range(1, upcoming + 1))
        found = TimeSeeded(
            generator=candidate.name,
            unit="Unix milliseconds" if key.startswith("ms|") else "Unix seconds",
            matched=matched,
            first_seed=min(seeds_hit),
            last_seed=last,
            upcoming=following,
            seeds_tried=tried,
            coincidence=coincidence,
        )
        if best is None or found.matched > best.matched:
            best = found
    return best, tried, cut


def _candidate(
    key: str, tokens: Sequence[str], streams: Sequence[Stream], length: int
) -> _Candidate:
    unit, kind, *rest = key.split("|")
    instant = "int(time.time() * 1000)" if unit == "ms" else "int(time.time())"
    if kind == "random":
        width = int(rest[0])
        stream = next(s for s in streams if s.name == rest[1] and s.bits == width)

        def make_random(seed: int) -> str:
            rng = random.Random(seed)  # noqa: S311
            return stream.render(rng.getrandbits(width))

        return _Candidate(
            name=f"random.seed({instant}); getrandbits({width}) as {stream.name}",
            make=make_random,
            bits=float(width),
        )
    if kind in _HASHES:
        size = int(rest[0])
        upper = any(c.isupper() for c in tokens[0])

        def make_hash(seed: int) -> str:
            digest = hashlib.new(kind, str(seed).encode()).hexdigest()[:size]
            return digest.upper() if upper else digest

        truncated = "" if size == hashlib.new(kind).digest_size * 2 else f"[:{size}]"
        return _Candidate(
            name=f"{kind}(str({instant})).hexdigest(){truncated}",
            make=make_hash,
            bits=4.0 * size,
        )
    name = rest[0]
    chars = dict(_ALPHABETS)[name]

    def make_choice(seed: int) -> str:
        rng = random.Random(seed)  # noqa: S311
        if kind == "choices":
            return "".join(rng.choices(chars, k=length))
        return "".join([rng.choice(chars) for _ in range(length)])

    call = f"choices({name}, k={length})" if kind == "choices" else f"choice({name}) x {length}"
    return _Candidate(
        name=f"random.seed({instant}); {call}",
        make=make_choice,
        bits=_PREFIX * math.log2(len(chars)),
    )
