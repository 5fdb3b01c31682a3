"""A webhook receiver on loopback that verifies every request with the standardwebhooks package
(an independent implementation of the scheme), and can be taken down and brought back."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    id: str
    headers: dict[str, str]
    body: bytes
    payload: Any
    verified: bool


@dataclass
class Receiver:
    secret: str | None
    port: int = 0
    path: str = "/hooks/t0k3n-in-the-path"
    #: statuses to answer, in order; then ``status``
    script: list[int] = field(default_factory=list)
    status: int = 204
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

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

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
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

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()
