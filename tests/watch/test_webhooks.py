"""Standard Webhooks signing (checked with the standardwebhooks package) and delivery from the
outbox to a real receiver on loopback: retries, backoff, 410, Slack, no secret in any log."""

from __future__ import annotations

import base64
import json
import random
import secrets
from datetime import datetime, timezone

import httpx
import pytest
from standardwebhooks import Webhook as Verifier

from keywire.store import Store
from keywire.watch.delivery import Deliverer
from keywire.watch.webhooks import (
    Webhook,
    WebhookError,
    backoff,
    body_of,
    new_alert_id,
    parse_secret,
    sign,
    slack_message,
)
from labs.webhooks import WebhookServer as Receiver

SECRET = "whsec_" + base64.b64encode(b"k" * 8 + secrets.token_bytes(24)).decode()


@pytest.mark.parametrize("seed", range(5))
def test_signature_matches_the_reference_implementation(seed):
    rng = random.Random(seed)
    key = rng.randbytes(rng.randint(24, 64))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = json.dumps({"data": {"t": "ünïcode ✓", "n": rng.random()}}, ensure_ascii=False).encode()
    msg_id, timestamp = new_alert_id(), 1_700_000_000 + seed
    ours = sign(parse_secret(secret), msg_id, timestamp, body)
    theirs = Verifier(secret).sign(msg_id, datetime.fromtimestamp(timestamp, timezone.utc), body)
    assert ours == theirs and ours.startswith("v1,")


def test_alert_ids_are_unique_and_dot_free():
    ids = {new_alert_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("msg_") and "." not in i and len(i) == 30 for i in ids)


def test_secret_forms_and_errors_never_quote_the_secret():
    raw = secrets.token_bytes(32)
    encoded = base64.b64encode(raw).decode()
    assert parse_secret("whsec_" + encoded) == raw == parse_secret(encoded)
    assert parse_secret("whsec_" + encoded.rstrip("=")) == raw  # unpadded, as the reference allows
    for bad in ("whsec_not*base64!!", "whsec_", "whsec_" + base64.b64encode(b"x" * 65).decode()):
        with pytest.raises(WebhookError) as caught:
            parse_secret(bad)
        assert bad.removeprefix("whsec_") not in str(caught.value) or not bad.removeprefix("whsec_")


def test_webhook_configuration_checks_and_repr_hides_secret_and_path():
    key = parse_secret(SECRET)
    hook = Webhook(url="https://hooks.example.test/services/T000/B000/XXXXSECRETPATH", secret=key)
    assert "XXXXSECRETPATH" not in repr(hook) and SECRET not in repr(hook)
    assert not hook.cleartext_remote
    assert Webhook(url="http://hooks.example.test/x", secret=key).cleartext_remote
    assert not Webhook(url="http://127.0.0.1:9/x", secret=key).cleartext_remote
    with pytest.raises(WebhookError, match="signed"):
        Webhook(url="https://hooks.example.test/x")
    Webhook(url="https://hooks.example.test/x", fmt="slack")  # Slack's own webhooks are unsigned
    with pytest.raises(WebhookError, match="credentials"):
        Webhook(url="https://user:pw@hooks.example.test/x", secret=key)
    with pytest.raises(WebhookError):
        Webhook(url="ftp://hooks.example.test/x", secret=key)


def test_backoff_is_exponential_jittered_capped_and_honours_retry_after():
    hook = Webhook(url="http://127.0.0.1:9/", secret=b"k" * 24, base_delay=1, max_delay=60)
    rng = random.Random(1)
    steps = [backoff(n, hook, rng=rng) for n in range(1, 10)]
    for n, delay in enumerate(steps, 1):
        step = min(60, 2 ** (n - 1))
        assert 0.75 * step <= delay <= step
    assert backoff(3, hook, retry_after=30, rng=rng) == 30
    assert backoff(3, hook, retry_after=3600, rng=rng) == 60


def _enqueue(store: Store, n: int, *, start: int = 0) -> list[str]:
    ids = []
    now = datetime.now(timezone.utc)
    with store.transaction(write=True) as tx:
        for i in range(start, start + n):
            alert_id = new_alert_id()
            payload = {
                "id": alert_id,
                "type": "keywire.grade.dropped",
                "timestamp": now.isoformat(),
                "data": {
                    "target": f"https://api{i}.test/",
                    "summary": f"alert {i} <b>",
                    "severity": "medium",
                },
            }
            tx.enqueue(
                alert_id=alert_id,
                created_at=now,
                type="keywire.grade.dropped",
                target=f"https://api{i}.test/",
                payload=json.dumps(payload),
                deliver=True,
            )
            ids.append(alert_id)
    return ids


@pytest.fixture
def outbox(tmp_path):
    with Store.open(tmp_path / "kw.db") as store:
        yield store


def _deliverer(store, receiver, logs, **hook):
    webhook = Webhook(url=receiver.url, secret=parse_secret(SECRET), **hook)
    return Deliverer(store.path, webhook, say=logs.append)


def test_delivers_every_alert_once_signed_and_marks_it(outbox):
    ids = _enqueue(outbox, 3)
    logs: list[str] = []
    with Receiver(SECRET) as receiver, httpx.Client() as client:
        deliverer = _deliverer(outbox, receiver, logs)
        assert deliverer.deliver_due(outbox, client) is None
        assert [r.id for r in receiver.accepted()] == ids
        assert all(r.payload["id"] == r.id for r in receiver.accepted())
    with outbox.transaction() as tx:
        assert tx.pending() == 0
        assert all(a.delivered_at is not None and a.attempts == 1 for a in tx.alerts())
    text = "\n".join(logs)
    assert SECRET not in text and SECRET.removeprefix("whsec_") not in text
    assert "t0k3n-in-the-path" not in text


def test_receiver_down_waits_then_everything_arrives_exactly_once(outbox):
    ids = _enqueue(outbox, 4)
    logs: list[str] = []
    with Receiver(SECRET) as receiver, httpx.Client() as client:
        receiver.down()
        deliverer = _deliverer(outbox, receiver, logs)
        wait = deliverer.deliver_due(outbox, client)
        assert wait is not None and wait > 0  # paused: the receiver is down
        with outbox.transaction() as tx:
            attempts = {a.id: a.attempts for a in tx.alerts()}
            assert tx.pending() == 4
        assert sorted(attempts.values()) == [0, 0, 0, 1]  # one attempt, not four
        assert "cannot connect" in logs[-1] and "4 alert(s) wait" in logs[-1]
        receiver.up()
        with outbox.transaction(write=True) as tx:
            tx.retry_all(now=0)
        deliverer.resume()
        assert deliverer.deliver_due(outbox, client) is None
        assert receiver.ids() == {i: 1 for i in ids}
        assert len(receiver.accepted()) == 4


def test_server_errors_are_retried_other_refusals_do_not_block_the_rest(outbox):
    ids = _enqueue(outbox, 3)
    with Receiver(SECRET, script=[400, 204, 204]) as receiver, httpx.Client() as client:
        deliverer = _deliverer(outbox, receiver, [])
        deliverer.deliver_due(outbox, client)
        assert [r.id for r in receiver.requests] == ids  # the refused one did not stop the others
        with outbox.transaction() as tx:
            assert tx.pending() == 1
            assert tx.alerts(limit=10)[-1].last_error == "HTTP 400"
    with Receiver(SECRET, script=[503]) as receiver, httpx.Client() as client:
        deliverer = _deliverer(outbox, receiver, [])
        with outbox.transaction(write=True) as tx:
            tx.retry_all(now=0)
        assert deliverer.deliver_due(outbox, client) is not None  # 503: receiver down, wait
        with outbox.transaction(write=True) as tx:
            tx.retry_all(now=0)
        deliverer.resume()
        assert deliverer.deliver_due(outbox, client) is None
        assert receiver.ids()[ids[0]] == 2 and len(receiver.accepted()) == 2


def test_redirects_are_failures_and_not_followed(outbox):
    _enqueue(outbox, 1)
    with Receiver(SECRET, script=[302]) as receiver, httpx.Client() as client:
        _deliverer(outbox, receiver, []).deliver_due(outbox, client)
        assert len(receiver.requests) == 1
    with outbox.transaction() as tx:
        assert tx.pending() == 1 and tx.alerts()[0].last_error == "HTTP 302"


def test_gone_stops_delivery_and_keeps_the_alerts(outbox):
    _enqueue(outbox, 3)
    logs: list[str] = []
    with Receiver(SECRET, status=410) as receiver, httpx.Client() as client:
        deliverer = _deliverer(outbox, receiver, logs)
        assert deliverer.deliver_due(outbox, client) is None
        assert deliverer.gone and len(receiver.requests) == 1
        assert deliverer.deliver_due(outbox, client) is None and len(receiver.requests) == 1
    with outbox.transaction() as tx:
        assert tx.pending() == 3
    assert "410 Gone" in logs[-1]


def test_the_thread_delivers_and_drains_on_stop(outbox):
    ids = _enqueue(outbox, 5)
    with Receiver(SECRET) as receiver:
        deliverer = _deliverer(outbox, receiver, [])
        deliverer.start()
        deliverer.stop(drain=10)
        assert receiver.ids() == {i: 1 for i in ids}
        assert deliverer.delivered == 5


def test_slack_payload_is_escaped_and_still_signed(outbox):
    _enqueue(outbox, 1)
    with Receiver(SECRET) as receiver, httpx.Client() as client:
        _deliverer(outbox, receiver, [], fmt="slack").deliver_due(outbox, client)
        [request] = receiver.accepted()
    assert set(request.payload) == {"text", "blocks"}
    assert "alert 0 &lt;b&gt;" in request.payload["text"]
    assert request.payload["blocks"][0]["text"]["type"] == "mrkdwn"


def test_slack_message_marks_recoveries_and_lists_findings():
    message = slack_message(
        {
            "type": "keywire.findings.new",
            "data": {
                "summary": "x\u202e <@channel>",
                "severity": "high",
                "findings": [{"rule_id": "KW101", "title": "API served <over> cleartext"}],
            },
        }
    )
    text = message["blocks"][0]["text"]["text"]
    assert "\\u202e" in text and "&lt;@channel&gt;" in text and "&lt;over&gt;" in text
    recovered = slack_message({"type": "keywire.grade.recovered", "data": {"recovery": True}})
    assert recovered["blocks"][0]["text"]["text"].startswith("✅")


def test_body_is_compact_json_of_the_stored_payload():
    payload = json.dumps({"id": "msg_a", "type": "t", "data": {"s": "é"}})
    assert body_of(payload, "standard") == '{"id":"msg_a","type":"t","data":{"s":"é"}}'.encode()
