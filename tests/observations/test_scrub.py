"""What capture keeps of a response: bounded, no canary, no credential, no known secret."""

from __future__ import annotations

import dataclasses

from keywire.net.models import HttpResponse
from keywire.observations._scrub import CANARY, KEPT_BODY, Scrubber, mask_secrets

REAL_CANARY = "kw_canary_" + "0f" * 16
STRIPE = "sk_live_" + "4eRt7Yu1Io3Pa5Sd8Fg0Hj2K"
CREDENTIAL = "Bearer kwtest-cred-7Hq2Vx9Lm4Np8Rs1Tz6W"


def response(body: bytes, **changes: object) -> HttpResponse:
    fields: dict[str, object] = {
        "url": "http://api.test/",
        "method": "GET",
        "probe": "canary-bearer",
        "status": 401,
        "reason": "Unauthorized",
        "headers": (),
        "body": body,
        "body_truncated": False,
        "http_version": "HTTP/1.1",
        "elapsed_s": 0.0,
    }
    fields.update(changes)
    return HttpResponse(**fields)  # type: ignore[arg-type]


def test_the_canary_becomes_the_placeholder_of_the_same_length():
    scrubber = Scrubber(canary=REAL_CANARY)
    assert len(CANARY) == len(REAL_CANARY) and CANARY.startswith("kw_canary_")
    assert scrubber.text(f"?api_key={REAL_CANARY}") == f"?api_key={CANARY}"
    body = f'{{"got": "{REAL_CANARY}"}}'.encode()
    assert scrubber.body(body) == f'{{"got": "{CANARY}"}}'.encode()
    cut = b'{"got": "' + REAL_CANARY[:20].encode()  # a body read to its cap, mid-canary
    assert scrubber.body(cut) == b'{"got": "' + CANARY[:20].encode()


def test_the_users_credential_is_hidden_in_text_and_bodies():
    scrubber = Scrubber(credentials=[CREDENTIAL])
    assert "kwtest-cred" not in scrubber.text(f"echo: {CREDENTIAL}")
    assert b"kwtest-cred" not in scrubber.body(b'{"auth": "kwtest-cred-7Hq2Vx9Lm4Np8Rs1Tz6W"}')


def test_known_secrets_are_masked_in_place():
    body = f'{{"key": "{STRIPE}", "n": 1}}'.encode()
    masked = mask_secrets(body)
    assert len(masked) == len(body) and STRIPE.encode() not in masked
    assert masked.startswith(b'{"key": "sk_liv***') and b'2K", "n": 1}' in masked
    assert mask_secrets(b'{"key": "sk_live_short"}') == b'{"key": "sk_live_short"}'


def test_a_response_keeps_a_bounded_body_and_no_cookie_value():
    scrubber = Scrubber()
    big = response(
        b"a" * (KEPT_BODY + 10), headers=(("Set-Cookie", "sid=Zx8vK2mQ9pL4wR7t; Secure"),)
    )
    kept = scrubber.response(big)
    assert len(kept.body) == KEPT_BODY and kept.body_truncated
    (cookie,) = kept.header_values("set-cookie")
    assert cookie.startswith("sid=") and "Zx8vK2mQ9pL4wR7t" not in cookie and "; Secure" in cookie
    authenticated = dataclasses.replace(big, body=b"private data", sent_credentials=True)
    assert scrubber.response(authenticated).body == b""
    assert scrubber.response(authenticated).body_truncated
