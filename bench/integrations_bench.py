"""What keywire's integrations cost where users already work.

Run from the repository root with keywire installed (``pip install -e '.[dev]'``)::

    python bench/integrations_bench.py           # --runs 15

1. **The pytest plugin when unused.** Every pytest run in an environment with keywire installed
   loads ``keywire.pytest_plugin``. A fresh interpreter that has imported pytest then imports the
   plugin: what ``-X importtime`` counts for it (the precise number), the wall-time medians of
   ``--runs`` alternating runs with and without it (after a warm-up that byte-compiles), and the
   whole ``pytest --collect-only`` of a one-test project with and without the plugin
   (``-p no:keywire``).
2. **``keywire lint-spec`` as a pre-commit hook.** Whole-process wall time on the insecure
   fixture spec (10 findings) and the clean one.

The machine is shared (2 cores): read medians and differences, not single runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "openapi" / "fixtures"


def _wall(command: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - started


def _median(command: list[str], runs: int, cwd: Path | None = None) -> float:
    _wall(command, cwd)  # warm-up: byte-compile, fill the page cache
    return statistics.median(_wall(command, cwd) for _ in range(runs))


def _pair(
    first: list[str], second: list[str], runs: int, cwd: Path | None = None
) -> tuple[float, float]:
    """Medians of two commands run alternately (so a busy moment hits both alike)."""
    _wall(first, cwd)
    _wall(second, cwd)
    a, b = [], []
    for _ in range(runs):
        a.append(_wall(first, cwd))
        b.append(_wall(second, cwd))
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    python = sys.executable

    samples = []
    for _ in range(runs):
        trace = subprocess.run(
            [python, "-X", "importtime", "-c", "import pytest; import keywire.pytest_plugin"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        line = next(x for x in trace.splitlines() if x.rstrip().endswith("| keywire.pytest_plugin"))
        samples.append(int(line.split("|")[1]))
    print(
        f"import keywire.pytest_plugin after pytest (-X importtime, cumulative): "
        f"{statistics.median(samples) / 1000:.2f} ms"
    )
    base, plugin = _pair(
        [python, "-c", "import pytest"],
        [python, "-c", "import pytest, keywire.pytest_plugin"],
        runs,
    )
    print(f"import pytest:                          {base * 1000:7.1f} ms")
    print(f"import pytest, keywire.pytest_plugin:   {plugin * 1000:7.1f} ms")
    print(f"  the plugin's cost:                    {(plugin - base) * 1000:+7.1f} ms")

    with tempfile.TemporaryDirectory() as directory:
        project = Path(directory)
        (project / "test_one.py").write_text("def test_one():\n    assert True\n")
        collect = [python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        without, with_plugin = _pair([*collect, "-p", "no:keywire"], collect, runs, project)
    print(f"pytest --collect-only, plugin off:      {without * 1000:7.1f} ms")
    print(f"pytest --collect-only, plugin on:       {with_plugin * 1000:7.1f} ms")
    print(f"  difference:                           {(with_plugin - without) * 1000:+7.1f} ms")

    lint = [python, "-m", "keywire.cli", "lint-spec", "-q"]
    insecure = _median([*lint, str(FIXTURES / "insecure-3.0.yaml")], runs)
    clean = _median([*lint, str(FIXTURES / "clean-3.0.yaml")], runs)
    floor = _median([python, "-c", "import keywire.cli"], runs)
    print(f"keywire lint-spec insecure-3.0.yaml:    {insecure * 1000:7.1f} ms")
    print(f"keywire lint-spec clean-3.0.yaml:       {clean * 1000:7.1f} ms")
    print(f"  of which import keywire.cli:          {floor * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
