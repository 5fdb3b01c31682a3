"""Shared fixtures: a clean environment, a lab CA, and lab servers on loopback."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from keywire import ScanOptions, ScanReport, parse_target
from keywire.lab import LabServer
from keywire.lab.certs import LabPki, make_lab_pki
from labs.apps import Behaviour, make_app

from .judged import scan_judged

# Every scan in the suite (and in the processes it starts) checks that an observation the
# scan judges without decoding it is what decoding it gives (keywire.observations.capture).
os.environ["KEYWIRE_VERIFY_CAPTURE"] = "1"

_HOST_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The host's proxies and CA settings must not change results, and scans record into a
    history store of the test's own (``keywire scan`` records by default), never the user's."""
    for name in _HOST_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KEYWIRE_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def runner() -> CliRunner:
    """click's test runner; stdout and stderr are kept apart, as the CLI keeps them."""
    return CliRunner()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    """A CA and a leaf for 127.0.0.1/localhost that pass strict RFC 5280 validation.

    (trustme's certificates do not: a critical subjectAltName beside a non-empty subject and a
    1000-year lifetime, which the TLS checks rightly report.)
    """
    return make_lab_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="session")
def ca_file(pki: LabPki) -> str:
    return str(pki.ca_file)


@pytest.fixture(scope="session")
def server_context(pki: LabPki) -> ssl.SSLContext:
    return pki.server_context()


@dataclass
class Api:
    """A lab API with an HTTPS side and a cleartext side sharing one behaviour."""

    behaviour: Behaviour
    https: LabServer
    http: LabServer
    ca_file: str

    def target(self, path: str = "/v1/resource") -> object:
        return parse_target(self.https.url + path, http_port=self.http.port)

    def http_target(self, path: str = "/v1/resource") -> object:
        return parse_target(self.http.url + path, https_port=self.https.port)

    def scan(
        self, *, path: str = "/v1/resource", side: str = "https", **options: object
    ) -> ScanReport:
        target = self.target(path) if side == "https" else self.http_target(path)
        opts = ScanOptions(ca_file=self.ca_file, timeout=5, scan_timeout=30, **options)  # type: ignore[arg-type]
        return scan_judged([target], options=opts)


@pytest.fixture
def lab_api(server_context: ssl.SSLContext, ca_file: str) -> Iterator[Callable[..., Api]]:
    """Start an API (both sides) with the given :class:`Behaviour` fields."""
    with ExitStack() as stack:

        def start(**fields: object) -> Api:
            behaviour = Behaviour(**fields)  # type: ignore[arg-type]
            app = make_app(behaviour)
            https = stack.enter_context(LabServer(app, ssl_context=server_context))
            http = stack.enter_context(LabServer(app))
            return Api(behaviour=behaviour, https=https, http=http, ca_file=ca_file)

        yield start


def rule_ids(report: ScanReport) -> set[str]:
    return {f.rule_id for f in report.findings}


@pytest.fixture
def require_tools() -> bool:
    return os.environ.get("KEYWIRE_REQUIRE_TOOLS") == "1"


ROOT = Path(__file__).resolve().parents[1]
