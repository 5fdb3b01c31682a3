"""``keywire watch``: rescan on a schedule, alert on regressions, deliver signed webhooks.

- :mod:`keywire.watch.alerts`: which changes raise an alert (pure: state in, events and state out);
- :mod:`keywire.watch.webhooks`: Standard Webhooks signing, Slack payloads, delivery with retries
  from the store's outbox;
- :mod:`keywire.watch.loop`: the schedule, the cycles and their resumption after a restart.
"""
