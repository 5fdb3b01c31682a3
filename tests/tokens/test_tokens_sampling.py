"""Sampling tokens from a live API on loopback: sources, rate, bounds and failures."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from keywire.net.http import ClientSettings, HttpClient, HttpResponse
from keywire.tokens.sampling import (
    SamplingPlan,
    SourceError,
    collect,
    parse_source,
)


def _response(body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    return HttpResponse(
        url="http://127.0.0.1/",
        method="GET",
        probe="test",
        status=200,
        reason="OK",
        headers=headers,
        body=body,
        body_truncated=False,
        http_version="HTTP/1.1",
        elapsed_s=0.0,
    )


def _run(plan: SamplingPlan, **settings):
    async def go():
        async with HttpClient(ClientSettings(**{"timeout": 5, **settings})) as client:
            return await collect(plan, client)

    return asyncio.run(go())


class TestSources:
    def test_cookie(self):
        source = parse_source("cookie:session")
        response = _response(
            headers=(("Set-Cookie", "other=1"), ("Set-Cookie", 'session="abc123"; Path=/'))
        )
        assert source.extract(response) == "abc123"
        assert parse_source("cookie:missing").extract(response) is None

    def test_header(self):
        response = _response(headers=(("X-Token", " t0k3n "),))
        assert parse_source("header:x-token").extract(response) == "t0k3n"
        assert parse_source("header:X-Other").extract(response) is None

    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("token", "a"),
            ("$.token", "a"),
            ("data.session.id", "b"),
            ("items[1].key", "c"),
            ("items[0].n", "42"),
            ("items[5].key", None),
            ("data.flag", None),
            ("data", None),
        ],
    )
    def test_json_paths(self, path, expected):
        body = (
            b'{"token": "a", "data": {"session": {"id": "b"}, "flag": true},'
            b' "items": [{"n": 42}, {"key": "c"}]}'
        )
        assert parse_source(f"json:{path}").extract(_response(body)) == expected

    def test_json_source_ignores_non_json(self):
        assert parse_source("json:token").extract(_response(b"<html>")) is None

    def test_body_regex_takes_the_first_group(self):
        body = b"<input name=csrf value='Zx81-qq'>"
        assert parse_source(r"body:value='([^']+)'").extract(_response(body)) == "Zx81-qq"
        assert parse_source(r"body:Zx\d+").extract(_response(body)) == "Zx81"

    @pytest.mark.parametrize(
        "spec", ["token", "query:x", "cookie:", "json:", "body:(", "header:two words"]
    )
    def test_bad_sources_are_usage_errors(self, spec):
        with pytest.raises(SourceError):
            parse_source(spec)


class TestPlan:
    def test_only_read_only_methods(self):
        with pytest.raises(ValueError, match="read-only"):
            SamplingPlan(
                url="http://127.0.0.1/", source=parse_source("cookie:a"), samples=1, method="POST"
            )

    def test_head_cannot_carry_a_body_source(self):
        with pytest.raises(ValueError, match="HEAD"):
            SamplingPlan(
                url="http://127.0.0.1/", source=parse_source("json:a"), samples=1, method="HEAD"
            )

    @pytest.mark.parametrize(
        ("samples", "rate"), [(0, 5.0), (200_000, 5.0), (10, 0.0), (10, 5000.0)]
    )
    def test_bounds(self, samples, rate):
        with pytest.raises(ValueError, match="must be"):
            SamplingPlan(
                url="http://127.0.0.1/", source=parse_source("cookie:a"), samples=samples, rate=rate
            )


class TestCollect:
    def test_collects_from_every_source(self, tokens_lab):
        for spec in (
            "json:token",
            "cookie:session",
            "header:X-Token",
            r'body:"token":\s*"([^"]+)"',
        ):
            plan = SamplingPlan(
                url=f"{tokens_lab.url}/urlsafe", source=parse_source(spec), samples=5, rate=500
            )
            got = _run(plan)
            assert len(got.tokens) == 5 and len(set(got.tokens)) == 5, spec
            assert got.stopped == "complete" and got.requests == 5
            assert len(got.times) == 5

    def test_head_with_a_cookie_source(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4",
            source=parse_source("cookie:session"),
            samples=3,
            method="HEAD",
            rate=500,
        )
        assert len(_run(plan).tokens) == 3

    def test_rate_is_respected(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4", source=parse_source("json:token"), samples=6, rate=20
        )
        started = time.monotonic()
        got = _run(plan)
        # Six requests at 20 per second: the last starts 250 ms after the first.
        assert time.monotonic() - started >= 0.25
        assert len(got.tokens) == 6

    def test_time_limit(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4",
            source=parse_source("json:token"),
            samples=1000,
            rate=10,
            max_time=0.35,
        )
        got = _run(plan)
        assert got.stopped.startswith("time limit")
        assert 2 <= len(got.tokens) <= 5

    def test_byte_limit(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4",
            source=parse_source("json:token"),
            samples=1000,
            rate=1000,
            max_bytes=2000,
        )
        got = _run(plan)
        assert got.stopped.startswith("byte limit")
        assert got.bytes_received >= 2000 and len(got.tokens) < 20

    def test_responses_without_the_token_stop_early(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4",
            source=parse_source("cookie:nope"),
            samples=100,
            rate=1000,
        )
        got = _run(plan)
        assert got.tokens == () and got.requests == 5
        assert "carried no cookie:nope" in got.stopped

    def test_refused_connections_stop_after_a_few_failures(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        plan = SamplingPlan(
            url=f"http://127.0.0.1:{port}/", source=parse_source("cookie:a"), samples=100, rate=1000
        )
        got = _run(plan)
        assert got.tokens == () and got.failures == 5
        assert "in a row failed" in got.stopped
        assert "refused" in got.last_error

    def test_credentials_are_never_sent_over_cleartext(self, tokens_lab):
        plan = SamplingPlan(
            url=f"{tokens_lab.url}/uuid4",
            source=parse_source("json:token"),
            samples=2,
            rate=1000,
            credentials_origin="https://127.0.0.1:443",
        )
        got = _run(plan, credentials={"Authorization": "Bearer user-secret"})
        assert got.tokens == ()
        assert "only sent over verified HTTPS" in got.last_error
