"""The HTTP client never sends back a cookie a server set: every exchange is anonymous."""

from __future__ import annotations

import asyncio

import pytest

from keywire.lab import LabServer
from keywire.net.http import ClientSettings, HttpClient, HttpResponse

flask = pytest.importorskip("flask")


def _cookie_app():
    app = flask.Flask("cookie_echo")
    issued = iter(range(1, 1000))

    @app.route("/")
    def index():
        response = app.make_response(flask.request.headers.get("Cookie", "-"))
        response.set_cookie("sid", f"v{next(issued)}")
        return response

    return app


def test_cookies_set_by_a_response_are_not_sent_on_the_next_request():
    async def exchange(url: str) -> list[tuple[str, str | None]]:
        seen = []
        async with HttpClient(ClientSettings(timeout=5)) as client:
            for _ in range(3):
                response = await client.fetch(url, probe="test")
                assert isinstance(response, HttpResponse)
                seen.append((response.text, response.header("set-cookie")))
        return seen

    with LabServer(_cookie_app()) as server:
        seen = asyncio.run(exchange(server.url + "/"))
    assert [text for text, _ in seen] == ["-", "-", "-"]
    assert [cookie.split(";")[0] for _, cookie in seen if cookie] == ["sid=v1", "sid=v2", "sid=v3"]
