"""The spec lab: an API that publishes its own OpenAPI description, on both sides (HTTPS + HTTP)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from keywire import ScanOptions, ScanReport
from keywire.lab import LabServer
from labs.spec_api import SpecLabState, create_spec_app

from ..judged import scan_judged


@dataclass
class SpecLab:
    state: SpecLabState
    https: LabServer
    http: LabServer
    ca_file: str

    @property
    def spec_url(self) -> str:
        return self.https.url + "/openapi.json"

    def scan(self, **options: object) -> ScanReport:
        fields: dict[str, object] = {
            "spec": self.spec_url,
            "ca_file": self.ca_file,
            "http_port": self.http.port,
            "timeout": 5,
            "scan_timeout": 60,
        }
        fields.update(options)
        return scan_judged([], options=ScanOptions(**fields))  # type: ignore[arg-type]


@pytest.fixture
def spec_lab(server_context: ssl.SSLContext, ca_file: str) -> Iterator[Callable[..., SpecLab]]:
    with ExitStack() as stack:

        def start(**fields: object) -> SpecLab:
            state = SpecLabState(**fields)  # type: ignore[arg-type]
            app = create_spec_app(state)
            https = stack.enter_context(LabServer(app, ssl_context=server_context))
            http = stack.enter_context(LabServer(app))
            return SpecLab(state=state, https=https, http=http, ca_file=ca_file)

        yield start
