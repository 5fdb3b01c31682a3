"""Token analysis speed and memory: 20,000 tokens of 32 characters, and MT19937 recovery.

Run from the repository root with keywire installed:  python bench/tokens_bench.py [--runs N]

Cases (tokens are generated in memory, nothing touches the network):

* the full analysis (structure, every statistical test, every predictor including the
  time-seeded search over +/-1 h) of 20,000 tokens of 32 characters, for base64url
  (``secrets.token_urlsafe(24)``), hex and alphanumeric alphabets;
* MT19937: the full analysis of 700 ``random.getrandbits(32)`` tokens (state recovered from
  624, the rest predicted), and the state recovery alone (untemper 624 outputs, predict 64);
* hashed fine clocks (``keywire.tokens.predict.clockhash``), on capture data made the way live
  collection records it (request sent, response read 2 ms later, the server's ``Date``):
  ``md5(str(time.time()))`` found on a server in step with keywire's clock; the same on a server
  3.37 s ahead, 160 tokens sampled at 5/s with the sampler's jitter, found through its ``Date``
  headers; and the miss (tokens with a secret mixed in), which costs the whole search of each
  window or the budget. ``--match clock`` runs only these.

Wall time is measured with ``time.perf_counter`` around the call, without tracing; peak memory
is measured in a separate run with ``tracemalloc`` (Python allocations made by the call). The
machine is shared: the median of several runs is the number to compare.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import secrets
import statistics
import string
import sys
import time
import tracemalloc
from collections.abc import Callable

from keywire.tokens import analyze
from keywire.tokens.predict import mt19937

ALNUM = string.ascii_letters + string.digits


def _cases(count: int) -> dict[str, Callable[[], object]]:
    base64url = [secrets.token_urlsafe(24) for _ in range(count)]
    hexed = [secrets.token_hex(16) for _ in range(count)]
    alnum = ["".join(secrets.choice(ALNUM) for _ in range(32)) for _ in range(count)]
    rng = random.Random(secrets.randbits(64))
    mt_tokens = [str(rng.getrandbits(32)) for _ in range(700)]
    words = [int(t) for t in mt_tokens]

    def recover() -> object:
        return mt19937.verify(words, checks=64)

    return {
        f"full analysis, {count:,} x 32 base64url": lambda: analyze(base64url),
        f"full analysis, {count:,} x 32 hex": lambda: analyze(hexed),
        f"full analysis, {count:,} x 32 alphanumeric": lambda: analyze(alnum),
        "full analysis, 700 getrandbits(32) (MT19937 predicted)": lambda: analyze(mt_tokens),
        "MT19937 state recovery alone (624 outputs, 64 predicted)": recover,
    }


def _capture(
    make: Callable[[float], str], count: int, *, skew: float = 0.0, gap: float = 0.0
) -> dict[str, object]:
    """Tokens with their sent/received times and Date headers, as live sampling records them."""
    rng = random.Random(7)
    tokens: list[str] = []
    sent: list[float] = []
    received: list[float] = []
    dates: list[float | None] = []
    moment = time.time() - 600
    for _ in range(count):
        moment += gap * (1 + 0.25 * rng.random()) if gap else 0.004
        made = moment + 0.001 + skew
        tokens.append(make(made))
        sent.append(moment)
        received.append(moment + 0.002)
        dates.append(float(int(made)))
    return {
        "tokens": tokens,
        "token_times": received,
        "sent_times": sent,
        "server_dates": dates,
        "sampled_at": received[0],
    }


def _clock_cases() -> dict[str, Callable[[], object]]:
    def md5_float(moment: float) -> str:
        return hashlib.md5(str(moment).encode()).hexdigest()

    salt = secrets.token_hex(16)

    def salted(moment: float) -> str:
        return hashlib.md5((salt + str(moment)).encode()).hexdigest()

    in_step = _capture(md5_float, 20)
    skewed = _capture(md5_float, 160, skew=3.37, gap=0.2)
    miss = _capture(salted, 20)
    return {
        "clock hash: 20 md5(str(time.time())), clocks in step (predicted)": lambda: analyze(
            **in_step  # type: ignore[arg-type]
        ),
        "clock hash: 160 md5(str(time.time())), server 3.37 s ahead (predicted)": lambda: analyze(
            **skewed  # type: ignore[arg-type]
        ),
        "clock hash: 20 salted md5 of the time (nothing to find)": lambda: analyze(
            **miss  # type: ignore[arg-type]
        ),
    }


def _check(name: str, result: object) -> None:
    summary = getattr(result, "summary", None)
    if summary is None:
        assert result == 64, "the clone must predict all 64 checked outputs"
        return
    text = summary()
    if name.startswith("clock hash") and "(predicted)" in name:
        assert "md5(str(time.time()))" in text, text
    elif name.startswith("clock hash"):
        assert "predictable" not in text, text
    elif "MT19937" in name:
        assert "MT19937" in text, text
    else:
        assert text.startswith("no weakness found"), text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--match", default="", help="run only the cases whose name has this")
    args = parser.parse_args()
    cases = {**_cases(args.tokens), **_clock_cases()}
    cases = {k: v for k, v in cases.items() if args.match in k}
    print(f"Python {sys.version.split()[0]}, {args.runs} runs per case\n")
    print("| case | median | min | max | peak memory |")
    print("|---|---|---|---|---|")
    for name, run in cases.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - started)
            _check(name, result)
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"| {name} | {statistics.median(times):.3f} s | {min(times):.3f} s | "
            f"{max(times):.3f} s | {peak / 2**20:.1f} MiB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
