"""Webhooks: alerts signed as the Standard Webhooks specification says, delivered from the outbox.

Every alert is a POST with a JSON body and three headers
(https://github.com/standard-webhooks/standard-webhooks, version 1.0.0):

- ``webhook-id``: the alert's ID (``msg_`` and 26 random base32 characters), the same on every
  retry, so a receiver can process each alert once (the idempotency key);
- ``webhook-timestamp``: the attempt's time, integer Unix seconds (a receiver refuses stale
  attempts, which blocks replays; a retry is signed anew);
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` with
  the secret, given as ``whsec_`` and base64 (``--webhook-secret-env VAR`` names the environment
  variable that holds it; the secret is never written to a log, the store or an error).

The body is the alert (``{"id", "type", "timestamp", "data"}``), or with ``--webhook-format
slack`` a Slack incoming-webhook message (``{"text", "blocks"}``), signed the same way.

Delivery never loses an alert: alerts wait in the store's outbox until a receiver answered 2xx.
A failed attempt (no connection, a timeout, a 5xx, a 429, any non-2xx; redirects are not
followed) is retried with exponential backoff (1 s, 2 s, 4 s... up to ``max_delay``, a minute by default, with jitter,
or the receiver's ``Retry-After``). While the receiver is down the outbox waits as a whole; a
receiver that refuses one alert (another 4xx) does not hold up the others. A 410 Gone stops
delivery for the rest of the run (the alerts stay in the outbox). Delivery runs in its own
thread with its own connection to the store (:mod:`keywire.watch.delivery`), so a slow or dead
receiver never holds up scanning.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Mapping
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

from .. import _json
from .._dataclass import dataclass
from .._display import visible
from .._version import __version__

log = logging.getLogger("keywire.watch")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every Standard Webhooks secret)
#: The specification asks for at least 24 random bytes; a shorter secret is accepted with a warning.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
FORMATS: tuple[str, ...] = ("standard", "slack")


class WebhookError(ValueError):
    """A webhook that cannot be used as configured (a usage error; never quotes the secret)."""


def new_alert_id() -> str:
    """A new alert ID: ``msg_`` and 26 random base32 characters (128 bits)."""
    raw = base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()
    return f"msg_{raw}"


def parse_secret(text: str) -> bytes:
    """The signing key of a ``whsec_``-prefixed (or bare) base64 secret.

    >>> parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    True
    """
    value = text.strip()
    value = value.removeprefix(SECRET_PREFIX)
    if not value:
        raise WebhookError("the webhook secret is empty")
    try:
        key = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError(
            "the webhook secret is not base64 (the Standard Webhooks form is whsec_ followed by "
            "the base64 of 24 to 64 random bytes)"
        ) from None
    if not key:
        raise WebhookError("the webhook secret is empty")
    if len(key) > MAX_SECRET_BYTES:
        raise WebhookError(f"the webhook secret is longer than {MAX_SECRET_BYTES} bytes")
    return key


def sign(key: bytes, alert_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64(HMAC-SHA256(key, id.timestamp.body))."""
    if "." in alert_id:
        raise ValueError("a webhook ID must not contain '.'")
    message = f"{alert_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _slack_text(value: str) -> str:
    """Text for Slack's mrkdwn: visible, with ``& < >`` escaped as Slack asks."""
    return visible(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_MARKS = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message for an alert payload."""
    data = payload.get("data") or {}
    severity = str(data.get("severity", "info"))
    mark = "✅" if data.get("recovery") else _MARKS.get(severity, "⚪")
    kind = str(payload.get("type", "")).removeprefix("keywire.")
    summary = _slack_text(str(data.get("summary", "")))
    lines = [f"{mark} *keywire {_slack_text(kind)}* ({_slack_text(severity)})", summary]
    for finding in (data.get("findings") or [])[:10]:
        if isinstance(finding, Mapping):
            lines.append(
                f"• {_slack_text(str(finding.get('rule_id', '')))} "
                f"{_slack_text(str(finding.get('title', '')))}"
            )
    text = "\n".join(lines)
    return {
        "text": f"keywire {kind}: {summary}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
    }


def body_of(payload_json: str, fmt: str) -> bytes:
    """The bytes sent for an alert stored as ``payload_json``, in ``fmt`` (compact JSON)."""
    payload = _json.loads(payload_json)
    if not isinstance(payload, dict):
        raise ValueError("an alert's payload is a JSON object")
    document = slack_message(payload) if fmt == "slack" else payload
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def shown_url(url: str) -> str:
    """The receiver as logs show it: scheme, host and port only (paths often hold tokens)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the webhook"
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    return visible(f"{parts.scheme}://{host}{port}/…")


@dataclass(frozen=True, kw_only=True)
class Webhook:
    """Where alerts go and how. ``secret`` is the signing key (None: unsigned, Slack only)."""

    url: str
    secret: bytes | None = None
    fmt: str = "standard"
    timeout: float = 15.0
    base_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        try:
            parts = urlsplit(self.url)
            parts.port  # noqa: B018 (validates the port)
        except ValueError:
            raise WebhookError("--webhook is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookError("--webhook takes an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise WebhookError("--webhook: credentials in the URL are refused")
        if self.fmt not in FORMATS:
            raise WebhookError(f"unknown webhook format {self.fmt!r}")
        if self.secret is None and self.fmt == "standard":
            raise WebhookError(
                "Standard Webhooks are signed: give --webhook-secret-env VAR (or "
                "--webhook-format slack for an unsigned Slack webhook)"
            )
        if self.timeout <= 0 or self.base_delay <= 0 or self.max_delay < self.base_delay:
            raise WebhookError("webhook timeouts and delays must be positive")

    def __repr__(self) -> str:  # the secret and the URL's path never reach a log
        return f"Webhook({shown_url(self.url)}, format={self.fmt})"

    @property
    def cleartext_remote(self) -> bool:
        """True for an http:// receiver off this machine: the alerts would cross the network in
        cleartext."""
        parts = urlsplit(self.url)
        host = (parts.hostname or "").lower()
        local = host == "localhost" or host == "::1" or host.startswith("127.")
        return parts.scheme == "http" and not local

    def headers(self, alert_id: str, body: bytes, *, now: float) -> dict[str, str]:
        timestamp = int(now)
        headers = {
            "content-type": "application/json",
            "user-agent": f"keywire/{__version__}",
            "webhook-id": alert_id,
            "webhook-timestamp": str(timestamp),
        }
        if self.secret is not None:
            headers["webhook-signature"] = sign(self.secret, alert_id, timestamp, body)
        return headers


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """How one delivery attempt went."""

    delivered: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None
    #: The receiver is unavailable as a whole (no connection, 5xx, 429): wait before any other.
    receiver_down: bool = False
    #: 410 Gone: the receiver wants no more alerts.
    gone: bool = False


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


_TRANSPORT_ERRORS = (
    ("ConnectTimeout", "the connection timed out"),
    ("ReadTimeout", "no answer in time"),
    ("WriteTimeout", "the request could not be sent in time"),
    ("PoolTimeout", "no connection in time"),
    ("ConnectError", "cannot connect"),
    ("RemoteProtocolError", "the receiver broke the HTTP exchange"),
    ("ReadError", "the connection broke"),
    ("WriteError", "the connection broke"),
)


def _describe(exc: Exception) -> str:
    """A fixed phrase for a transport error: exception texts may quote the URL."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, phrase in _TRANSPORT_ERRORS:
        if name in names:
            return phrase
    return f"transport error ({type(exc).__name__})"


def attempt(
    client: Any, webhook: Webhook, alert_id: str, payload_json: str, *, now: float
) -> Attempt:
    """POST one alert to the receiver once (``client``: an ``httpx.Client``)."""
    import httpx

    try:
        body = body_of(payload_json, webhook.fmt)
    except ValueError:
        return Attempt(delivered=False, error="the stored alert is not a JSON object")
    try:
        response = client.post(
            webhook.url,
            content=body,
            headers=webhook.headers(alert_id, body, now=now),
            timeout=webhook.timeout,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return Attempt(delivered=False, error=_describe(exc), receiver_down=True)
    status = response.status_code
    if 200 <= status < 300:
        return Attempt(delivered=True, status=status)
    retry_after = _retry_after(response.headers.get("retry-after"), now)
    down = status in (429, 502, 503, 504) or status >= 500
    return Attempt(
        delivered=False,
        status=status,
        error=f"HTTP {status}",
        retry_after=retry_after,
        receiver_down=down,
        gone=status == 410,
    )


def backoff(
    attempts: int,
    webhook: Webhook,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: exponential, jittered
    (75-100 % of the step), at most ``max_delay``; a ``Retry-After`` within that wins."""
    step = min(webhook.max_delay, webhook.base_delay * 2.0 ** max(0, min(attempts - 1, 30)))
    jitter = (rng or random).uniform(0.75, 1.0)
    delay = step * jitter
    if retry_after is not None:
        delay = min(webhook.max_delay, max(delay, retry_after))
    return delay
