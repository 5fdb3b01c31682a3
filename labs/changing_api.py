"""A lab API whose certificate, headers and cleartext side change between scans: what
``keywire watch`` must notice (a certificate swapped, HSTS dropped, a new cleartext port)."""

from __future__ import annotations

import socket
import ssl
from datetime import timedelta
from pathlib import Path

from keywire.lab.server import LabServer
from labs.apps import Behaviour, make_app
from labs.tlspki import ONE_DAY, make_ca, make_leaf, now, write_chain


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChangingApi:
    """HTTPS on one port (certificate swappable in place), and a cleartext port that is closed
    until :meth:`open_cleartext`."""

    def __init__(self, directory: Path, *, leaf_days: float = 90) -> None:
        self.directory = directory
        self.ca = make_ca("keywire watch lab CA", not_after=now() + 3650 * ONE_DAY)
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.ca.cert_pem())
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.generation = 0
        self.swap_certificate(leaf_days)
        self.behaviour = Behaviour()
        self.app = make_app(self.behaviour)
        self.https = LabServer(self.app, ssl_context=self.context)
        self.http_port = free_port()
        self.http: LabServer | None = None

    @property
    def url(self) -> str:
        return f"{self.https.url}/v1/resource"

    def swap_certificate(self, days: float) -> None:
        """Serve a new leaf, valid for ``days`` from now, to every new connection."""
        self.generation += 1
        leaf = make_leaf(
            self.ca,
            names=("localhost",),
            ips=("127.0.0.1",),
            not_before=now() - timedelta(hours=1),
            not_after=now() + timedelta(days=days),
        )
        cert, key = write_chain(self.directory, f"leaf{self.generation}", leaf)
        self.context.load_cert_chain(cert, key)

    def drop_hsts(self) -> None:
        self.behaviour.hsts = None

    def open_cleartext(self) -> None:
        """Start answering API calls over http:// on the cleartext port."""
        self.behaviour.refuse_cleartext = False
        self.behaviour.require_key = False
        self.http = LabServer(self.app, port=self.http_port)

    def close(self) -> None:
        self.https.close()
        if self.http is not None:
            self.http.close()
