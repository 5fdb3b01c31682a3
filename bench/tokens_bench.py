"""Token analysis speed and memory: 20,000 tokens of 32 characters, and MT19937 recovery.

Run from the repository root with keywire installed:  python bench/tokens_bench.py [--runs N]

Cases (tokens are generated in memory, nothing touches the network):

* the full analysis (structure, every statistical test, every predictor including the
  time-seeded search over +/-1 h) of 20,000 tokens of 32 characters, for base64url
  (``secrets.token_urlsafe(24)``), hex and alphanumeric alphabets;
* MT19937: the full analysis of 700 ``random.getrandbits(32)`` tokens (state recovered from
  624, the rest predicted), and the state recovery alone (untemper 624 outputs, predict 64).

Wall time is measured with ``time.perf_counter`` around the call, without tracing; peak memory
is measured in a separate run with ``tracemalloc`` (Python allocations made by the call). The
machine is shared: the median of several runs is the number to compare.
"""

from __future__ import annotations

import argparse
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


def _check(name: str, result: object) -> None:
    summary = getattr(result, "summary", None)
    if summary is None:
        assert result == 64, "the clone must predict all 64 checked outputs"
        return
    text = summary()
    if "MT19937" in name:
        assert "MT19937" in text, text
    else:
        assert text.startswith("no weakness found"), text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=20_000)
    args = parser.parse_args()
    cases = _cases(args.tokens)
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
