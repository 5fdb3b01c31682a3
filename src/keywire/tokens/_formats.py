"""Identifier formats that carry a clock: UUIDs, MongoDB ObjectIds, ULIDs, Snowflake IDs
(timestamps embedded anywhere else in a token are :mod:`keywire.tokens._embedded`).

Each recogniser returns a :class:`FormatMatch` with the :class:`~keywire.tokens._model.Field`\\ s
it explained and the bits an attacker would still have to guess. "Near the sampling time" means
within :data:`WIDE_WINDOW` of it when several tokens agree, and within :data:`NARROW_WINDOW` for a
single token (a random 32-bit value lands within an hour of now about once in 600,000).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from .._dataclass import dataclass
from ._model import Field

WIDE_WINDOW = 2 * 86400.0
NARROW_WINDOW = 3600.0
#: An attacker who knows when a token was issued still has to guess it within this many seconds.
ISSUE_UNCERTAINTY_S = 2.0

_UUID = re.compile(
    r"^(?:urn:uuid:)?\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$",
    re.I,
)
_GREGORIAN_OFFSET = 0x01B21DD213814000  # 100-ns ticks from 1582-10-15 to 1970-01-01
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

#: (name, epoch in ms, right shift to the time field, time unit in ms, low-field layout)
SNOWFLAKES: tuple[tuple[str, int, int, int, str], ...] = (
    ("Twitter Snowflake", 1288834974657, 22, 1, "10-bit worker, 12-bit sequence"),
    ("Discord Snowflake", 1420070400000, 22, 1, "10-bit worker, 12-bit sequence"),
    ("Snowflake (Unix epoch)", 0, 22, 1, "10-bit worker, 12-bit sequence"),
    ("Instagram ID", 1314220021721, 23, 1, "13-bit shard, 10-bit sequence"),
    ("Sonyflake", 1409529600000, 24, 10, "8-bit sequence, 16-bit machine"),
)


@dataclass(frozen=True)
class TimeWindow:
    """The instants (Unix seconds) a token issued "now" may carry."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high


def window_for(sampled: Sequence[float], count: int) -> TimeWindow:
    """The plausible issue times of ``count`` tokens sampled at the instants ``sampled``."""
    margin = WIDE_WINDOW if count >= 2 else NARROW_WINDOW
    return TimeWindow(min(sampled) - margin, max(sampled) + margin)


def iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{ts:.0f} (out of range)"


def bits_of_time(unit_s: float) -> float:
    """Bits left to guess in a timestamp of resolution ``unit_s`` whose instant is roughly known."""
    return max(1.0, math.log2(ISSUE_UNCERTAINTY_S / unit_s))


def spread(values: Sequence[int]) -> float:
    """Bits needed to cover the values' spread (0 when all are equal)."""
    low, high = min(values), max(values)
    return math.log2(high - low + 1) if high > low else 0.0


@dataclass(frozen=True, kw_only=True)
class FormatMatch:
    kind: str
    description: str
    max_bits: float
    unpredictable_bits: float
    fields: tuple[Field, ...]
    time_based: bool
    confident: bool
    evidence: dict[str, str]
    notes: tuple[str, ...] = ()


def match_uuid(tokens: Sequence[str], window: TimeWindow) -> FormatMatch | None:
    """UUIDs (RFC 9562): v1/v6 are time and node, v7 a time prefix and 74 random bits, v4 122."""
    parsed = []
    for token in tokens:
        m = _UUID.match(token)
        if m is None:
            return None
        parsed.append(int("".join(m.groups()), 16))
    versions = {(u >> 76) & 0xF for u in parsed}
    rfc_variant = all((u >> 62) & 0x3 == 0b10 for u in parsed)
    if len(versions) != 1 or not rfc_variant:
        return FormatMatch(
            kind="uuid",
            description="UUIDs of mixed or non-RFC versions",
            max_bits=122.0,
            unpredictable_bits=122.0,
            fields=(),
            time_based=False,
            confident=False,
            evidence={},
        )
    (version,) = versions
    n = len(parsed)
    if version in (1, 6):
        return _uuid_time(parsed, version, window)
    # Positions are those of the 32 hex digits (the analysis reads UUIDs without dashes).
    layout = (
        Field(kind="version", start=12, end=13, bits=0.0, unpredictable=0.0, detail=f"{version}"),
        Field(kind="variant", start=16, end=17, bits=2.0, unpredictable=2.0, detail="RFC 9562"),
    )

    if version == 7:
        stamps = [(u >> 80) / 1000.0 for u in parsed]
        near = all(s in window for s in stamps)
        return FormatMatch(
            kind="uuid-v7",
            description="UUIDv7: a 48-bit Unix time in ms, then 74 random bits",
            max_bits=122.0,
            unpredictable_bits=bits_of_time(0.001) + 74.0,
            fields=(
                Field(
                    kind="timestamp",
                    start=0,
                    end=12,
                    bits=48.0,
                    unpredictable=bits_of_time(0.001),
                    detail=f"Unix ms, first issued {iso(min(stamps))}",
                ),
                *layout,
            ),
            time_based=True,
            confident=near,
            evidence={"issued": iso(min(stamps))},
            notes=("UUIDv7 reveals when it was issued; its 74 random bits are the secret part",),
        )
    names = {4: "random", 3: "name-based (MD5)", 5: "name-based (SHA-1)", 8: "custom"}
    notes: tuple[str, ...] = ()
    if version in (3, 5):
        notes = ("a name-based UUID is exactly as unpredictable as the name it was made from",)
    return FormatMatch(
        kind=f"uuid-v{version}",
        description=f"UUIDv{version} ({names.get(version, 'unknown version')})",
        max_bits=122.0,
        unpredictable_bits=122.0,
        fields=layout,
        time_based=False,
        confident=n >= 1,
        evidence={},
        notes=notes,
    )


def _uuid_time(parsed: list[int], version: int, window: TimeWindow) -> FormatMatch:
    stamps = []
    for u in parsed:
        if version == 1:
            ticks = (((u >> 64) & 0x0FFF) << 48) | (((u >> 80) & 0xFFFF) << 32) | (u >> 96)
        else:
            ticks = ((u >> 96) << 28) | (((u >> 80) & 0xFFFF) << 12) | ((u >> 64) & 0x0FFF)
        stamps.append((ticks - _GREGORIAN_OFFSET) / 1e7)
    clocks = {(u >> 48) & 0x3FFF for u in parsed}
    nodes = {u & 0xFFFFFFFFFFFF for u in parsed}
    random_node = any((node >> 40) & 1 for node in nodes)
    n = len(parsed)
    # A MAC node and its clock sequence are the same in every UUID a host makes: one token
    # (anyone's) gives them away. A random node that varies has to be guessed.
    node_bits = 48.0 if random_node and (n == 1 or len(nodes) > 1) else 0.0
    clock_bits = 14.0 if (n >= 2 and len(clocks) > 1) or (n == 1 and random_node) else 0.0
    time_bits = bits_of_time(1e-7)
    near = all(s in window for s in stamps)
    node_text = (
        "random (multicast bit set)"
        if random_node
        else "a MAC address" + (", the same in every sample" if n > 1 and len(nodes) == 1 else "")
    )
    evidence = {
        "issued": iso(min(stamps)),
        "node": node_text,
        "clock_sequence": "constant" if len(clocks) == 1 and n > 1 else f"{len(clocks)} value(s)",
    }
    return FormatMatch(
        kind=f"uuid-v{version}",
        description=f"UUIDv{version}: a 60-bit timestamp (100 ns), a clock sequence and a node",
        max_bits=122.0,
        unpredictable_bits=time_bits + clock_bits + node_bits,
        fields=(
            Field(
                kind="timestamp",
                start=0,
                end=16,
                bits=60.0,
                unpredictable=time_bits,
                detail=f"100-ns ticks, issued {iso(min(stamps))}"
                + (" (near the sampling time)" if near else ""),
            ),
            Field(
                kind="clock_sequence",
                start=16,
                end=20,
                bits=14.0,
                unpredictable=clock_bits,
                detail=evidence["clock_sequence"],
            ),
            Field(
                kind="node", start=20, end=32, bits=48.0, unpredictable=node_bits, detail=node_text
            ),
        ),
        time_based=True,
        confident=True,
        evidence=evidence,
    )


def match_objectid(tokens: Sequence[str], window: TimeWindow) -> FormatMatch | None:
    """MongoDB ObjectIds: 4-byte time, 5-byte per-process value, 3-byte counter (24 hex)."""
    if not all(len(t) == 24 for t in tokens) or not all(is_hex(t) for t in tokens):
        return None
    if len({t.islower() for t in tokens if not t.isdigit()}) > 1:
        return None
    stamps = [int(t[:8], 16) for t in tokens]
    if not all(s in window for s in stamps):
        return None
    processes = {t[8:18].lower() for t in tokens}
    counters = [int(t[18:], 16) for t in tokens]
    n = len(tokens)
    counter_bits = min(24.0, spread(counters) + 1.0) if n >= 2 else 24.0
    process_bits = 40.0 if n >= 2 and len(processes) == n and n >= 3 else 0.0
    evidence = {
        "issued": iso(min(stamps)),
        "process_value": "the same in every sample"
        if len(processes) == 1
        else f"{len(processes)} values",
        "counter_spread": f"{max(counters) - min(counters)}" if n >= 2 else "one sample",
    }
    return FormatMatch(
        kind="objectid",
        description="MongoDB ObjectId: creation time, per-process value and a counter",
        max_bits=96.0,
        unpredictable_bits=bits_of_time(1.0) + process_bits + counter_bits,
        fields=(
            Field(
                kind="timestamp",
                start=0,
                end=8,
                bits=32.0,
                unpredictable=bits_of_time(1.0),
                detail=f"Unix seconds, issued {iso(min(stamps))}",
            ),
            Field(
                kind="process",
                start=8,
                end=18,
                bits=40.0,
                unpredictable=process_bits,
                detail=evidence["process_value"],
            ),
            Field(
                kind="counter",
                start=18,
                end=24,
                bits=24.0,
                unpredictable=counter_bits,
                detail=f"spread {evidence['counter_spread']}",
            ),
        ),
        time_based=True,
        confident=n >= 2,
        evidence=evidence,
    )


def match_ulid(tokens: Sequence[str], window: TimeWindow) -> FormatMatch | None:
    """ULIDs: 26 Crockford base32 characters, a 48-bit ms time then 80 random bits."""
    stamps = []
    for token in tokens:
        upper = token.upper()
        if len(token) != 26 or upper[0] > "7" or any(c not in _CROCKFORD for c in upper):
            return None
        value = 0
        for char in upper[:10]:
            value = value * 32 + _CROCKFORD.index(char)
        stamps.append(value / 1000.0)
    if not all(s in window for s in stamps):
        return None
    return FormatMatch(
        kind="ulid",
        description="ULID: a 48-bit Unix time in ms, then 80 random bits",
        max_bits=128.0,
        unpredictable_bits=bits_of_time(0.001) + 80.0,
        fields=(
            Field(
                kind="timestamp",
                start=0,
                end=10,
                bits=48.0,
                unpredictable=bits_of_time(0.001),
                detail=f"Unix ms, issued {iso(min(stamps))}",
            ),
        ),
        time_based=True,
        confident=True,
        evidence={"issued": iso(min(stamps))},
        notes=("a ULID reveals when it was issued; its 80 random bits are the secret part",),
    )


def match_snowflake(tokens: Sequence[str], window: TimeWindow) -> FormatMatch | None:
    """Snowflake-style 64-bit IDs: a ms time since an epoch, a worker and a sequence."""
    if not all(t.isdigit() and 15 <= len(t) <= 20 for t in tokens):
        return None
    values = [int(t) for t in tokens]
    if max(values) >= 1 << 64:
        return None
    n = len(values)
    for name, epoch, shift, unit, layout in SNOWFLAKES:
        stamps = [((v >> shift) * unit + epoch) / 1000.0 for v in values]
        if not all(s in window for s in stamps):
            continue
        low = [v & ((1 << shift) - 1) for v in values]
        low_bits = min(float(shift), spread(low) + 1.0) if n >= 2 else float(shift)
        time_bits = bits_of_time(unit / 1000.0)
        return FormatMatch(
            kind="snowflake",
            description=f"{name}: a time in {unit} ms units, then {layout}",
            max_bits=63.0,
            unpredictable_bits=time_bits + low_bits,
            fields=(
                Field(
                    kind="timestamp",
                    start=-1,
                    end=-1,
                    bits=63.0 - shift,
                    unpredictable=time_bits,
                    detail=f"issued {iso(min(stamps))}",
                ),
                Field(
                    kind="worker_sequence",
                    start=-1,
                    end=-1,
                    bits=float(shift),
                    unpredictable=low_bits,
                    detail=layout,
                ),
            ),
            time_based=True,
            confident=n >= 2,
            evidence={"issued": iso(min(stamps)), "layout": name},
        )
    return None


_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def is_hex(text: str) -> bool:
    return set(text) <= _HEXDIGITS
