"""flask_keywire.server_context: TLS 1.2+ with ECDHE and AEAD only, checked with real handshakes."""

from __future__ import annotations

import shutil
import socket
import ssl

import pytest

from flask_keywire import server_context
from keywire.lab.certs import make_lab_pki
from keywire.lab.server import LabServer


@pytest.fixture(scope="module")
def server():
    from flask import Flask

    pki = make_lab_pki()
    app = Flask("tls_only")
    app.get("/")(lambda: "ok")
    with LabServer(app, ssl_context=server_context(pki.cert_file, pki.key_file)) as lab:
        yield lab, pki
    shutil.rmtree(pki.directory, ignore_errors=True)


def _handshake(server, configure) -> tuple[str, str]:
    lab, pki = server
    context = ssl.create_default_context(cafile=str(pki.ca_file))
    configure(context)
    with (
        socket.create_connection((lab.host, lab.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version, cipher = tls.version(), tls.cipher()[0]
    return version, cipher


def test_context_settings(server):
    _, pki = server
    context = server_context(pki.cert_file, pki.key_file)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION
    assert context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    for cipher in context.get_ciphers():
        if cipher["protocol"] == "TLSv1.2":
            assert cipher["kea"] == "kx-ecdhe" and cipher["aead"], cipher["name"]


def test_tls13_by_default(server):
    version, _ = _handshake(server, lambda c: None)
    assert version == "TLSv1.3"


def test_tls12_negotiates_ecdhe_with_aead(server):
    def tls12(context):
        context.maximum_version = ssl.TLSVersion.TLSv1_2

    version, cipher = _handshake(server, tls12)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-ECDSA-") and ("GCM" in cipher or "CHACHA20" in cipher)


@pytest.mark.parametrize("offer", ["ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA"])
def test_cbc_suites_are_refused(server, offer):
    def cbc_only(context):
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(offer)

    with pytest.raises(ssl.SSLError):
        _handshake(server, cbc_only)
