"""A store with a small fleet's history, hostile text planted where a target controls it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from keywire._models import Severity
from keywire.store import Store

from ..htmlcheck import PAYLOAD
from .make import cert, fact, snap

NOW = datetime.now(timezone.utc).replace(microsecond=0)
GOOD = "https://good.example.test/v1"
BAD = "https://bad.example.test/api"
DOWN = "https://down.example.test/"


def hostile_store(path: Path) -> Path:
    """Three targets over five scans: one steady, one regressing, one that stopped answering."""
    with Store.open(path) as store:
        for day in range(5):
            at = NOW - timedelta(days=4 - day)
            with store.transaction(write=True) as tx:
                sid = tx.begin_scan(started_at=at, tool_version="t", source="scan")
                tx.record(
                    sid,
                    snap(
                        grade="A",
                        score=96,
                        at=at,
                        target=GOOD,
                        certs=(cert("good", days=80 - day, at=at),),
                    ),
                )
                findings = [fact("KW144", Severity.LOW, target=BAD)]
                if day == 4:
                    findings += [
                        fact("KW140", target=BAD, message=f"HSTS dropped {PAYLOAD}"),
                        fact("KW101", Severity.HIGH, target=BAD, location=PAYLOAD),
                    ]
                leaf = replace(
                    cert(f"bad{day // 4}", days=3 if day == 4 else 60, at=at),
                    subject=f"CN={PAYLOAD}",
                    issuer=f"O=\u202eevil\x1b[2J {PAYLOAD}",
                )
                tx.record(
                    sid,
                    snap(
                        *findings,
                        grade="C" if day == 4 else "A-",
                        score=55 if day == 4 else 91,
                        at=at,
                        target=BAD,
                        certs=(leaf,),
                    ),
                )
                tx.record(
                    sid,
                    snap(
                        answered=day < 3,
                        at=at,
                        target=DOWN,
                        grade="B",
                        score=85,
                        error=f"refused {PAYLOAD}",
                    ),
                )
                tx.finish_scan(sid, finished_at=at)
    return path
