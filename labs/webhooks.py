"""A webhook receiver on loopback that verifies every request with the standardwebhooks package
(an independent implementation of the Standard Webhooks scheme), and can be taken down and
brought back on the same port: the receiver ``keywire watch`` must deliver to exactly once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from keywire.lab.server import LOOPBACK, LoopbackServerBase


@dataclass
class Received:
    id: str
    headers: dict[str, str]
    body: bytes
    payload: Any
    verified: bool


class WebhookServer(LoopbackServerBase):
    """Receives webhooks on ``127.0.0.1``; ``script`` lists the statuses to answer, in order,
    then ``status``. :meth:`down` closes the port, :meth:`up` opens it again."""

    path = "/hooks/t0k3n-in-the-path"  # webhook URLs carry tokens: logs must not show them

    def __init__(
        self, secret: str | None, *, script: list[int] | None = None, status: int = 204
    ) -> None:
        super().__init__(host=LOOPBACK)
        self.secret = secret
        self.script = list(script or [])
        self.status = status
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = False
                if receiver.secret is not None:
                    try:
                        Verifier(receiver.secret).verify(body, headers)
                        verified = True
                    except WebhookVerificationError:
                        verified = False
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            id=headers.get("webhook-id", ""),
                            headers=headers,
                            body=body,
                            payload=json.loads(body),
                            verified=verified,
                        )
                    )
                    status = receiver.script.pop(0) if receiver.script else receiver.status
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", receiver.url + "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Received]:
        """Requests answered 2xx would be all of them unless scripted; verified ones only."""
        with self._lock:
            return [r for r in self.requests if r.verified]

    def ids(self) -> Counter[str]:
        with self._lock:
            return Counter(r.id for r in self.requests)

    def close(self) -> None:
        self.down()
