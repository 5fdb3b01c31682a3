"""Checks are pure functions of observations: tested here on hand-built observations."""

from __future__ import annotations

import pytest

from keywire import OutcomeStatus
from keywire.checks import (
    auth_schemes,
    cleartext,
    cookies,
    exposure,
    hsts,
    mixed_content,
    proxy_headers,
    query_keys,
    redirects,
)
from keywire.checks._base import CheckNotRun
from keywire.net.http import Chain, ChainEnd, FailureKind, FetchFailure, HttpResponse

CANARY = "kw_canary_00112233445566778899aabbccddeeff"
T = "https://api.test/v1"


def resp(
    url: str = "https://api.test/v1",
    status: int = 200,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes = b"{}",
) -> HttpResponse:
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    return HttpResponse(
        url=url,
        method="GET",
        probe="test",
        status=status,
        reason="",
        headers=tuple(items),
        body=body,
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.01,
    )


def fail(url: str = "http://api.test/v1", kind: FailureKind = FailureKind.REFUSED) -> FetchFailure:
    return FetchFailure(url=url, probe="test", kind=kind, reason=kind.value)


def chain(*hops: HttpResponse, end: ChainEnd = ChainEnd.FINAL, failure=None, next_url="") -> Chain:
    start = hops[0].url if hops else (failure.url if failure else "")
    return Chain(start=start, hops=hops, end=end, failure=failure, next_url=next_url)


def ids(findings) -> list[str]:
    return sorted(f.rule_id for f in findings)


def status_of(call) -> OutcomeStatus:
    with pytest.raises(CheckNotRun) as info:
        call()
    return info.value.status


# --- cleartext -------------------------------------------------------------------------------


def cleartext_obs(baseline, canaries=(), repeat=None):
    return cleartext.CleartextObservation(
        target=T,
        http_url="http://api.test/v1",
        missing_reason="",
        baseline=baseline,
        canaries=tuple(canaries),
        baseline_repeat=repeat,
        canary=CANARY,
    )


def test_cleartext_refused_connection_passes():
    assert cleartext.check(cleartext_obs(fail())) == []


def test_cleartext_403_passes_with_identical_canary_answers():
    r403 = resp("http://api.test/v1", 403, body=b'{"error":"use https"}')
    obs = cleartext_obs(r403, [("x-api-key", r403), ("authorization-bearer", r403)])
    assert cleartext.check(obs) == []


def test_cleartext_content_is_critical():
    r = resp("http://api.test/v1", 200)
    assert ids(cleartext.check(cleartext_obs(r, [("x-api-key", r)]))) == ["KW101"]


def test_cleartext_redirect_of_canary_is_kw102():
    r = resp("http://api.test/v1", 301, {"Location": "https://api.test/v1"})
    assert ids(cleartext.check(cleartext_obs(r, [("x-api-key", r)]))) == ["KW102"]


def test_cleartext_401_vs_403_is_processing():
    base = resp("http://api.test/v1", 401, body=b"missing")
    canary = resp("http://api.test/v1", 403, body=b"invalid")
    found = cleartext.check(cleartext_obs(base, [("x-api-key", canary)]))
    # the 401 also asks every client for its key over cleartext: KW111-KW113 (root cause KW101)
    assert ids(found) == ["KW101", "KW110", "KW111", "KW112", "KW113"]


def test_cleartext_refusing_credentials_on_a_public_endpoint_is_not_processing():
    base = resp("http://api.test/v1", 200, body=b"public")
    canary = resp("http://api.test/v1", 403, body=b"no credentials over http")
    assert ids(cleartext.check(cleartext_obs(base, [("x-api-key", canary)]))) == ["KW101"]


def test_cleartext_body_noise_is_not_processing():
    """A request ID in the body changes between requests: no KW110 when the baseline is unstable."""
    base = resp("http://api.test/v1", 200, body=b'{"id":"a1"}')
    canary = resp("http://api.test/v1", 200, body=b'{"id":"zz"}')
    repeat = resp("http://api.test/v1", 200, body=b'{"id":"qq"}')
    assert ids(cleartext.check(cleartext_obs(base, [("x-api-key", canary)], repeat))) == ["KW101"]


def test_cleartext_numbers_and_canary_echo_are_normalised():
    base = resp("http://api.test/v1", 200, body=b'{"t":1700000000,"key":""}')
    canary = resp(
        "http://api.test/v1", 200, body=b'{"t":1700000001,"key":"' + CANARY.encode() + b'"}'
    )
    assert ids(cleartext.check(cleartext_obs(base, [("x-api-key", canary)]))) == ["KW101"]


def test_cleartext_timeout_is_not_tested():
    obs = cleartext_obs(fail(kind=FailureKind.TIMEOUT))
    assert status_of(lambda: cleartext.check(obs)) is OutcomeStatus.ERROR


def test_cleartext_without_counterpart_is_skipped():
    obs = cleartext.CleartextObservation(
        target=T,
        http_url=None,
        missing_reason="pass --http-port",
        baseline=None,
        canaries=(),
        baseline_repeat=None,
        canary=CANARY,
    )
    assert status_of(lambda: cleartext.check(obs)) is OutcomeStatus.SKIPPED


# --- redirects -------------------------------------------------------------------------------


def redirect_obs(http_chain=None, https_chain=None):
    return redirects.RedirectObservation(
        target=T, host="api.test", http_chain=http_chain, https_chain=https_chain
    )


@pytest.mark.parametrize(
    ("status", "location", "expected"),
    [
        (301, "https://api.test/v1", []),
        (308, "https://api.test/v1", []),
        (302, "https://api.test/v1", ["KW104"]),
        (307, "https://api.test/v1", ["KW104"]),
        (301, "http://api.test/v2", ["KW103"]),
        (301, "https://www.api.test/v1", ["KW103"]),
    ],
)
def test_first_hop(status, location, expected):
    hop = resp("http://api.test/v1", status, {"Location": location})
    assert ids(redirects.check(redirect_obs(chain(hop)))) == expected


def test_downgrade_from_https():
    hop = resp("https://api.test/v1", 302, {"Location": "http://api.test/login"})
    assert ids(redirects.check(redirect_obs(https_chain=chain(hop)))) == ["KW105"]


def test_loop_and_too_many():
    hop = resp("http://api.test/v1", 301, {"Location": "https://api.test/v1"})
    looping = chain(hop, end=ChainEnd.LOOP, next_url="http://api.test/v1")
    assert ids(redirects.check(redirect_obs(looping))) == ["KW106"]
    many = chain(hop, end=ChainEnd.TOO_MANY, next_url="http://api.test/v9")
    assert ids(redirects.check(redirect_obs(many))) == ["KW106"]


def test_redirects_not_tested_on_timeout_and_skipped_when_refused():
    timeout = chain(failure=fail(kind=FailureKind.TIMEOUT))
    assert status_of(lambda: redirects.check(redirect_obs(timeout))) is OutcomeStatus.ERROR
    refused = chain(failure=fail())
    assert status_of(lambda: redirects.check(redirect_obs(refused))) is OutcomeStatus.SKIPPED


# --- HSTS --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=63072000; includeSubDomains; preload", []),
        ('max-age="31536000"; includeSubDomains', []),
        ("  MAX-AGE=31536000 ;INCLUDESUBDOMAINS", []),
        (None, ["KW140"]),
        ("includeSubDomains", ["KW141"]),
        ("max-age=1; max-age=2", ["KW141"]),
        ("max-age=-1", ["KW141"]),
        ("max-age=0", ["KW142"]),
        ("max-age=31535999; includeSubDomains", ["KW143"]),
        ("max-age=31536000", ["KW144"]),
        ("max-age=600", ["KW143", "KW144"]),
    ],
)
def test_hsts_values(value, expected):
    headers = {} if value is None else {"Strict-Transport-Security": value}
    obs = hsts.HstsObservation(target=T, https=chain(resp(headers=headers)), http=None)
    assert ids(hsts.check(obs)) == expected


def test_hsts_first_header_counts():
    headers = [
        ("Strict-Transport-Security", "max-age=0"),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ]
    obs = hsts.HstsObservation(target=T, https=chain(resp(headers=headers)), http=None)
    assert ids(hsts.check(obs)) == ["KW142"]


def test_hsts_over_http_only():
    http = chain(resp("http://api.test/v1", 403, {"Strict-Transport-Security": "max-age=63072000"}))
    obs = hsts.HstsObservation(
        target=T, https=chain(failure=fail("https://api.test/v1")), http=http
    )
    assert ids(hsts.check(obs)) == ["KW145"]


def test_hsts_without_https_is_skipped_or_not_tested():
    refused = hsts.HstsObservation(
        target=T, https=chain(failure=fail("https://api.test/v1")), http=None
    )
    assert status_of(lambda: hsts.check(refused)) is OutcomeStatus.SKIPPED
    broken = hsts.HstsObservation(
        target=T, https=chain(failure=fail("https://api.test/v1", FailureKind.TLS)), http=None
    )
    assert status_of(lambda: hsts.check(broken)) is OutcomeStatus.ERROR


# --- proxy headers -----------------------------------------------------------------------------


def test_proxy_header_bypass():
    base = resp("http://api.test/v1", 301, {"Location": "https://api.test/v1"})
    obs = proxy_headers.ProxyHeaderObservation(
        target=T,
        http_url="http://api.test/v1",
        baseline=base,
        spoofed=(
            ("X-Forwarded-Proto", "https", resp("http://api.test/v1", 200)),
            ("X-Forwarded-Ssl", "on", base),
        ),
    )
    found = proxy_headers.check(obs)
    assert ids(found) == ["KW150"]
    assert found[0].location == "x-forwarded-proto"


def test_proxy_header_check_skipped_when_cleartext_serves():
    obs = proxy_headers.ProxyHeaderObservation(
        target=T, http_url="http://api.test/v1", baseline=resp("http://api.test/v1"), spoofed=()
    )
    assert status_of(lambda: proxy_headers.check(obs)) is OutcomeStatus.SKIPPED


# --- auth schemes ------------------------------------------------------------------------------


def auth_obs(*pairs: tuple[str, str]):
    seen = []
    for url, header in pairs:
        for challenge in auth_schemes.parse_challenges(header):
            seen.append(
                auth_schemes.SeenChallenge(
                    url=url, scheme_of_url=url.split(":")[0], challenge=challenge
                )
            )
    return auth_schemes.AuthSchemeObservation(
        target=T, responses_seen=len(pairs), challenges=tuple(seen)
    )


@pytest.mark.parametrize(
    ("url", "header", "expected"),
    [
        ("https://api.test/", 'Bearer realm="api"', []),
        ("https://api.test/", 'Basic realm="api"', ["KW130"]),
        ("http://api.test/", 'Basic realm="api"', ["KW131"]),
        ("https://api.test/", 'Digest realm="a", nonce="n"', ["KW132"]),
        ("https://api.test/", 'Digest realm="a", nonce="n", algorithm=MD5-sess', ["KW132"]),
        ("https://api.test/", 'Digest realm="a", nonce="n", algorithm=SHA-256', []),
        ("https://api.test/", 'Bearer realm="a", Basic realm="a"', ["KW130", "KW133"]),
        ("https://api.test/", 'Negotiate, Digest realm="a", nonce="n"', ["KW132", "KW133"]),
        (
            "https://api.test/",
            'Bearer error="invalid_token", error_description="Basic, expired"',
            [],
        ),
    ],
)
def test_auth_schemes(url, header, expected):
    assert ids(auth_schemes.check(auth_obs((url, header)))) == expected


# --- cookies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "header", "expected"),
    [
        ("https://api.test/", "sid=1; Secure; HttpOnly", []),
        ("https://api.test/", "sid=1; HttpOnly", ["KW160"]),
        ("https://api.test/", "sid=1; Secure", ["KW162"]),
        ("https://api.test/", "theme=dark; Secure", []),
        ("https://api.test/", "XSRF-TOKEN=1; Secure", []),
        ("http://api.test/", "theme=dark; Secure", ["KW161"]),
        ("http://api.test/", "session=1", ["KW161", "KW162"]),
    ],
)
def test_cookies(url, header, expected):
    cookie = cookies.parse_set_cookie(header, url=url, scheme=url.split(":")[0])
    obs = cookies.CookieObservation(target=T, responses_seen=1, cookies=(cookie,))
    assert ids(cookies.check(obs)) == expected


def test_cookie_values_are_dropped_at_capture():
    cookie = cookies.parse_set_cookie("sid=very-secret-value; Secure", url=T, scheme="https")
    assert "very-secret-value" not in repr(cookie)


# --- mixed content -----------------------------------------------------------------------------


def test_links_in_json_and_headers():
    body = b'{"items": [{"href": "http://api.test/v1/1"}], "$schema": "http://json-schema.org/x"}'
    response = resp(
        headers={"Content-Type": "application/json", "Content-Location": "http://api.test/x"},
        body=body,
    )
    links = mixed_content.find_cleartext_links(response)
    assert sorted(link.where for link in links) == [
        "body $.items[0].href",
        "header content-location",
    ]


def test_links_deeply_nested_json_does_not_crash():
    body = b"[" * 100_000 + b"]" * 100_000
    response = resp(headers={"Content-Type": "application/json"}, body=body)
    assert mixed_content.find_cleartext_links(response) == []


# --- query keys --------------------------------------------------------------------------------


def test_query_key_requires_a_stable_baseline():
    base = resp(status=401, body=b"no key")
    changed = resp(status=403, body=b"bad key")
    obs = query_keys.QueryKeyObservation(
        target=T,
        url=T,
        baseline=base,
        combined=changed,
        single=(("api_key", changed), ("token", base)),
        baseline_repeat=resp(status=401, body=b"no key"),
        canary=CANARY,
    )
    found = query_keys.check(obs)
    assert ids(found) == ["KW120"]
    assert dict(found[0].evidence)["parameters"] == "api_key"  # "token" got the same answer
    unstable = query_keys.QueryKeyObservation(
        target=T,
        url=T,
        baseline=base,
        combined=changed,
        single=(("api_key", changed),),
        baseline_repeat=resp(status=500),
        canary=CANARY,
    )
    assert status_of(lambda: query_keys.check(unstable)) is OutcomeStatus.ERROR


# --- exposure ----------------------------------------------------------------------------------


def test_exposure_finds_and_redacts():
    secret = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    response = resp(
        headers={"X-Debug": "AKIAZ2XCV3BNM4QWE5RT"}, body=f'{{"stripe": "{secret}"}}'.encode()
    )
    hits = exposure.scan_response(response)
    obs = exposure.ExposureObservation(target=T, responses_seen=1, hits=tuple((T, h) for h in hits))
    found = exposure.check(obs)
    assert ids(found) == ["KW701", "KW701"]
    text = repr(found)
    assert secret not in text
    assert "AKIAZ2XCV3BNM4QWE5RT" not in text


def test_exposure_ignores_jwt_in_cookies():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJl"
    response = resp(headers={"Set-Cookie": f"session={jwt}; Secure; HttpOnly"})
    assert exposure.scan_response(response) == []
