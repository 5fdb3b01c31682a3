"""The watch against real servers on loopback: rescans after the servers change, alerts signed
and delivered exactly once by ID through a receiver that is down for part of the run, restarts
that resume where the watch stopped."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from keywire import ScanOptions
from keywire.history.diff import select
from keywire.store import Store
from keywire.watch import alerts as A
from keywire.watch.loop import Watch, WatchSettings
from keywire.watch.webhooks import Webhook, parse_secret
from labs.changing_api import ChangingApi, free_port
from labs.webhooks import WebhookServer as Receiver

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def api(tmp_path):
    lab = ChangingApi(tmp_path, leaf_days=10)
    yield lab
    lab.close()


def settings(api, targets, receiver=None, **extra):
    options = ScanOptions(
        ca_file=str(api.ca_file), timeout=5, scan_timeout=30, http_port=api.http_port
    )
    webhook = (
        Webhook(url=receiver.url, secret=parse_secret(SECRET), base_delay=0.2, max_delay=1)
        if receiver is not None
        else None
    )
    return WatchSettings(
        targets=tuple(targets), every=3600, options=options, webhook=webhook, once=True, **extra
    )


def run(store_path: Path, watch_settings: WatchSettings) -> tuple[Watch, list[str]]:
    logs: list[str] = []
    watch = Watch(store_path, watch_settings, say=logs.append)
    watch.run()
    return watch, logs


def outbox(store_path):
    with Store.open(store_path) as store, store.transaction() as tx:
        return tx.alerts(limit=1000)


def test_changes_between_cycles_alert_once_each_through_a_flaky_receiver(tmp_path, api):
    db = tmp_path / "kw.db"
    with Receiver(SECRET) as receiver:
        # Cycle 1: the baseline. The certificate expires in 10 days: the 14-day threshold fires.
        watch, logs = run(db, settings(api, [api.url], receiver))
        assert watch.summary.cycles == 1 and watch.summary.pending == 0
        [first] = receiver.accepted()
        assert first.payload["type"] == A.CERTIFICATE_EXPIRING
        assert first.payload["data"]["threshold_days"] == 14
        assert first.payload["data"]["rule_id"] == "KW620"  # the single-scan rule it stands for

        # The servers change: a new certificate, HSTS dropped, a cleartext port that answers.
        api.swap_certificate(90)
        api.drop_hsts()
        api.open_cleartext()
        receiver.down()
        watch, logs = run(db, settings(api, [api.url], receiver, drain=1))
        assert watch.summary.alerts == 3 and watch.summary.pending == 3
        assert any("cannot connect" in line for line in logs)
        assert not any(SECRET.removeprefix("whsec_") in line for line in logs)

        # The receiver is back: the next start delivers what waited; nothing changed, no new alert.
        receiver.up()
        watch, logs = run(db, settings(api, [api.url], receiver))
        assert watch.summary.alerts == 0 and watch.summary.pending == 0

        stored = outbox(db)
        assert receiver.ids() == {a.id: 1 for a in stored}  # every alert, exactly once by ID
        assert all(r.verified for r in receiver.requests)
        types = sorted(r.payload["type"] for r in receiver.accepted())
    assert types == sorted(
        [A.CERTIFICATE_EXPIRING, A.FINDINGS_NEW, A.GRADE_DROPPED, A.CERTIFICATE_RENEWED]
    )
    new = next(r.payload for r in receiver.accepted() if r.payload["type"] == A.FINDINGS_NEW)
    assert {f["rule_id"] for f in new["data"]["findings"]} >= {"KW101", "KW140"}
    assert new["data"]["target"] == api.url

    with Store.open(db) as store, store.transaction() as tx:
        history = tx.history(api.url)
        # KW620 (expires within 30 days, medium) caps the first scan at B
        assert [s.grade for s in history][-1] == "B" and history[1].grade == "F"
        assert "KW620" in {f.rule_id for f in history[-1].findings}
        assert {"KW630", "KW631"} <= {f.rule_id for f in history[1].findings}
        diff = select(tx, [history[2].scan_id, history[1].scan_id])
    [change] = diff.targets
    assert {f.rule_id for f in change.new} >= {"KW101", "KW140"}
    assert len(change.certificates_replaced) == 1


def test_unreachable_then_recovered(tmp_path, api):
    db = tmp_path / "kw.db"
    dead = f"https://127.0.0.1:{free_port()}/v1"
    with Receiver(SECRET) as receiver:
        run(db, settings(api, [dead], receiver))
        run(db, settings(api, [dead], receiver))  # still down: no second alert
        types = [r.payload["type"] for r in receiver.accepted()]
    assert types == [A.TARGET_UNREACHABLE]
    with Store.open(db) as store, store.transaction() as tx:
        assert [s.answered for s in tx.history(dead)] == [False, False]


def test_a_stopped_cycle_is_resumed_with_the_targets_it_had_not_scanned(tmp_path, api):
    db = tmp_path / "kw.db"
    others = [f"{api.https.url}/v{n}" for n in range(2, 4)]
    targets = [api.url, *others]
    logs: list[str] = []
    stopper = Watch(db, settings(api, targets, batch=1), say=logs.append)

    def say(line: str) -> None:
        logs.append(line)
        if line.startswith(api.url):  # the first target is recorded: SIGTERM arrives
            stopper.request_stop()

    stopper.say = say
    stopper.run()
    assert stopper.summary.cycles == 0 and stopper.summary.scanned == 1
    with Store.open(db) as store, store.transaction() as tx:
        [cycle] = tx.scans(source="watch")
        assert cycle.finished_at is None and tx.scanned_in(cycle.id) == {api.url}

    watch, logs = run(db, settings(api, targets))
    assert any("resuming cycle" in line and "1 of 3" in line for line in logs)
    assert watch.summary.scanned == 2 and watch.summary.cycles == 1
    with Store.open(db) as store, store.transaction() as tx:
        [cycle] = tx.scans(source="watch")
        assert cycle.finished_at is not None and tx.scanned_in(cycle.id) == set(targets)
        assert all(len(tx.history(t)) == 1 for t in targets)


def test_without_a_webhook_alerts_are_recorded_not_queued(tmp_path, api):
    db = tmp_path / "kw.db"
    watch, logs = run(db, settings(api, [api.url]))
    assert watch.summary.alerts == 1
    assert any("alert certificate.expiring" in line for line in logs)
    [alert] = outbox(db)
    with Store.open(db) as store, store.transaction() as tx:
        assert tx.pending() == 0 and alert.type == A.CERTIFICATE_EXPIRING
