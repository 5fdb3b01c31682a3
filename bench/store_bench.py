"""The history store at fleet size: recording, opening (quick_check), and the read commands.

Run from the repository root with keywire installed:

    python bench/store_bench.py                          # 1,000 targets x 10 scans
    python bench/store_bench.py --targets 10000 --scans 4

A synthetic fleet (no network): every target has 12 findings (one changes each scan), 13 check
outcomes and a two-certificate chain, as a real TLS target records. Measured:

* **record**: results per second, each in its own ``BEGIN IMMEDIATE`` transaction (as ``keywire
  scan`` and ``keywire watch`` record), on a file-backed store in WAL mode;
* **open**: ``Store.open`` of the finished store, with ``quick_check`` (writers) and without
  (readers), and the file's size;
* **history / diff / fleet**: ``keywire history`` of one target, ``keywire diff`` (the last two
  results of every target), and the fleet overview (model and HTML).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from keywire._models import Severity, fingerprint
from keywire.checks import FAMILIES
from keywire.history.diff import select
from keywire.history.fleet import build_fleet, render_fleet
from keywire.history.snapshot import CertFact, FindingFact, Snapshot
from keywire.store import Store

RULES = [
    "KW140",
    "KW144",
    "KW160",
    "KW161",
    "KW405",
    "KW406",
    "KW420",
    "KW421",
    "KW601",
    "KW610",
    "KW704",
    "KW120",
]
CHECKS = {f.name: "completed" for f in FAMILIES}


def snapshot(target: int, scan: int, at: datetime) -> Snapshot:
    url = f"https://api{target}.fleet.test/v1"
    findings = tuple(
        FindingFact(
            fingerprint=fingerprint(rule, url, str(scan if i == 0 else i)),
            rule_id=rule,
            severity=Severity.MEDIUM,
            message=f"{rule} on {url}",
            location=str(scan if i == 0 else i),
            evidence=(("header", "max-age=300"), ("url", url)),
        )
        for i, rule in enumerate(RULES)
    )
    certs = tuple(
        CertFact(
            sha256=f"{target:032x}{position:032x}",
            subject=f"CN=api{target}.fleet.test",
            issuer="CN=Fleet CA",
            serial=str(target),
            not_before=at - timedelta(days=30),
            not_after=at + timedelta(days=60 + target % 90),
            position=position,
        )
        for position in range(2)
    )
    return Snapshot(
        target=url,
        scanned_at=at,
        answered=True,
        score=80,
        grade="B",
        findings=findings,
        checks=CHECKS,
        certificates=certs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--scans", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kw.db"
        start = datetime.now(timezone.utc) - timedelta(days=args.scans)
        recorded = 0
        began = time.perf_counter()
        with Store.open(path) as store:
            for scan in range(args.scans):
                at = start + timedelta(days=scan)
                with store.transaction(write=True) as tx:
                    scan_id = tx.begin_scan(started_at=at, tool_version="bench", source="scan")
                for target in range(args.targets):
                    with store.transaction(write=True) as tx:
                        tx.record(scan_id, snapshot(target, scan, at))
                    recorded += 1
        elapsed = time.perf_counter() - began
        size = path.stat().st_size + (
            Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0
        )
        print(
            f"record: {recorded} results in {elapsed:.2f} s = {recorded / elapsed:,.0f} results/s"
        )
        for check in (True, False):
            began = time.perf_counter()
            Store.open(path, check=check).close()
            label = "with quick_check" if check else "without quick_check"
            print(
                f"open {label}: {time.perf_counter() - began:.3f} s (store {size / 2**20:.1f} MiB)"
            )
        with Store.open(path, check=False) as store:
            began = time.perf_counter()
            with store.transaction() as tx:
                tx.history("https://api7.fleet.test/v1", limit=50)
            print(f"history of one target: {time.perf_counter() - began:.3f} s")
            began = time.perf_counter()
            with store.transaction() as tx:
                diff = select(tx, [])
            print(
                f"diff of the last two results of {len(diff.targets)} targets: {time.perf_counter() - began:.2f} s"
            )
            began = time.perf_counter()
            with store.transaction() as tx:
                fleet = build_fleet(tx, now=datetime.now(timezone.utc))
            built = time.perf_counter() - began
            page = render_fleet(fleet, "html")
            print(
                f"fleet overview: model {built:.2f} s, HTML {time.perf_counter() - began - built:.2f} s "
                f"({len(page) / 2**20:.1f} MiB page)"
            )


if __name__ == "__main__":
    main()
