"""The clocks a server may hash, and how each writes the time (part of
:mod:`keywire.tokens.predict.clockhash`, whose docstring has the table)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from itertools import repeat, starmap

from ..._dataclass import dataclass

_US = 1_000_000


@dataclass(frozen=True)
class Clock:
    """One way a server writes the time: its tick, and every value in a range of ticks."""

    name: str  # as code, for the finding
    tick: float
    render: Callable[[range], Iterable[bytes]]
    also: str = ""  # the same value written elsewhere


def _decimal(ticks: range) -> Iterable[bytes]:
    return map(b"%d".__mod__, ticks)


def _micro_fixed(ticks: range) -> Iterable[bytes]:
    return map(b"%d.%06d".__mod__, map(divmod, ticks, repeat(_US)))


def _php_microtime(ticks: range) -> Iterable[bytes]:
    return map(str.encode, starmap("0.{1:06d}00 {0}".format, map(divmod, ticks, repeat(_US))))


def _php_uniqid(ticks: range) -> Iterable[bytes]:
    return map(b"%08x%05x".__mod__, map(divmod, ticks, repeat(_US)))


def _php_float(ticks: range) -> Iterable[bytes]:
    values = map(operator.truediv, ticks, repeat(10_000))
    return map(str.encode, map("{:.14G}".format, values))


def _python2_float(ticks: range) -> Iterable[bytes]:
    values = map(operator.truediv, ticks, repeat(100))
    return map(str.encode, map("{:.12G}".format, values))


def _js_seconds(ticks: range) -> Iterable[bytes]:
    for text in map(repr, map(operator.truediv, ticks, repeat(1000))):
        yield (text[:-2] if text.endswith(".0") else text).encode()


def _python_float(ulp: float) -> Callable[[range], Iterable[bytes]]:
    def render(ticks: range) -> Iterable[bytes]:
        # Doubles between 2^30 and 2^31 (2004-2038) are the multiples of one ulp: every value
        # time.time() can return is k * ulp, written by repr() as the shortest round trip.
        return map(str.encode, map(repr, map(ulp.__mul__, ticks)))

    return render


#: Coarse clocks first: they cost little, and cover the whole window before the fine ones.
COARSE = (
    Clock("'%.12g' % time.time()", 0.01, _python2_float, "str(time.time()) on Python 2"),
    Clock(
        "str(int(time.time() * 1000))",
        0.001,
        _decimal,
        "JavaScript Date.now(), Java System.currentTimeMillis()",
    ),
    Clock("String(Date.now() / 1000)", 0.001, _js_seconds, "JavaScript"),
    Clock("(string) microtime(true)", 0.0001, _php_float, "PHP"),
)
FINE = (
    Clock("str(time.time_ns() // 1000)", 1e-6, _decimal, "Go time.Now().UnixMicro()"),
    Clock("'%.6f' % time.time()", 1e-6, _micro_fixed, "PHP sprintf('%.6f', microtime(true))"),
    Clock("microtime()", 1e-6, _php_microtime, "PHP"),
    Clock("uniqid()", 1e-6, _php_uniqid, "PHP"),
)


def clocks_at(instant: float) -> tuple[tuple[Clock, ...], tuple[Clock, ...]]:
    """The coarse and the fine clocks, the float one with the ulp at ``instant``."""
    fine: tuple[Clock, ...] = FINE
    if 2**30 <= instant < 2**31:
        ulp = math.ulp(instant)
        python = Clock("str(time.time())", ulp, _python_float(ulp), "Ruby Time.now.to_f.to_s")
        fine = (python, *FINE)
    return COARSE, fine
