"""Delivering the outbox: a thread that sends due alerts to the webhook, with backoff.

The thread has its own connection to the store (a SQLite connection belongs to one thread); the
watch wakes it after enqueuing. See :mod:`keywire.watch.webhooks` for the attempt itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .webhooks import Webhook, attempt, backoff, shown_url

if TYPE_CHECKING:
    from ..store import Store


class Deliverer:
    """Delivers due alerts from the store's outbox to ``webhook``, in a thread of its own.

    ``wake()`` after enqueuing; ``stop(drain=seconds)`` waits up to that long for the outbox to
    empty, then ends the thread (what is left waits in the store for the next run).
    """

    def __init__(
        self,
        store_path: Path,
        webhook: Webhook,
        *,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store_path = store_path
        self.webhook = webhook
        self.say = say
        self.clock = clock
        self.delivered = 0
        self.failed_attempts = 0
        self.gone = False
        self.error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._paused_until = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="keywire-webhooks", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def resume(self) -> None:
        """Forget the pause after a failure (the outbox was made due again) and deliver."""
        self._paused_until = 0.0
        self.wake()

    def stop(self, *, drain: float = 0.0) -> None:
        """Stop after waiting up to ``drain`` seconds for every due alert to be delivered (not at
        all while the receiver is down or gone: those alerts wait in the store for the next run).

        An attempt in flight is not waited for beyond a second: the thread is a daemon, and an
        alert it was sending stays undelivered in the store, to be sent again with its ID.
        """
        if self._thread is None:
            return
        deadline = time.monotonic() + drain
        self.wake()
        while drain > 0 and time.monotonic() < deadline and self._thread.is_alive():
            if self.gone or self._paused_until > self.clock():
                break
            if self._idle.wait(timeout=min(0.1, max(0.0, deadline - time.monotonic()))):
                break
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=1.0)

    def _run(self) -> None:
        import httpx

        from ..store import Store, StoreError

        try:
            store = Store.open(self.store_path, create=False, check=False)
        except StoreError as exc:
            self.error = str(exc)
            self.say(f"webhook: cannot open the store: {exc}")
            return
        try:
            with httpx.Client(trust_env=True) as client:
                while not self._stop.is_set():
                    self._wake.clear()
                    try:
                        wait = self.deliver_due(store, client)
                    except StoreError as exc:
                        self.say(f"webhook: {exc}")
                        wait = 5.0
                    if wait is None:
                        self._idle.set()
                        wait = 3600.0
                    self._wake.wait(timeout=max(0.05, wait))
        finally:
            store.close()

    def deliver_due(self, store: Store, client: Any) -> float | None:
        """One pass over the due alerts; the seconds until the next is due (None: none waits)."""
        if self.gone:
            return None
        now = self.clock()
        if now < self._paused_until:
            return self._paused_until - now
        with store.transaction() as tx:
            due = tx.due_alerts(now=now, limit=100)
        for alert in due:
            if self._stop.is_set():
                return None
            result = attempt(client, self.webhook, alert.id, alert.payload, now=self.clock())
            if result.delivered:
                with store.transaction(write=True) as tx:
                    tx.mark_delivered(alert.id, at=datetime.now(timezone.utc))
                self.delivered += 1
                self.say(
                    f"webhook: delivered {alert.id} ({alert.type}) to {shown_url(self.webhook.url)}"
                )
                continue
            self.failed_attempts += 1
            delay = backoff(alert.attempts + 1, self.webhook, retry_after=result.retry_after)
            with store.transaction(write=True) as tx:
                tx.mark_failed(alert.id, next_attempt_at=self.clock() + delay, error=result.error)
            if result.gone:
                self.gone = True
                self.say(
                    f"webhook: {shown_url(self.webhook.url)} answered 410 Gone: no more alerts are "
                    "sent in this run; they wait in the store"
                )
                return None
            if result.receiver_down:
                self._paused_until = self.clock() + delay
                with store.transaction() as tx:
                    waiting = tx.pending()
                self.say(
                    f"webhook: {shown_url(self.webhook.url)}: {result.error}; {waiting} alert(s) "
                    f"wait in the store, next attempt in {delay:.0f} s"
                )
                return delay
            self.say(f"webhook: {alert.id} refused ({result.error}); retried in {delay:.0f} s")
        with store.transaction() as tx:
            next_due = tx.next_due()
        if next_due is None:
            return None
        return max(0.0, next_due - self.clock())
