"""Cross-check: on the same local servers, keywire accepts exactly the suites sslyze accepts.

sslyze (6.3.1, its own virtualenv; ``KEYWIRE_SSLYZE`` names its CLI) negotiates with legacy
OpenSSL builds, an independent implementation of every handshake. It only tries the suites its
OpenSSL knows, so the comparison is over those: keywire's accepted suites among the ones sslyze
attempted must equal sslyze's accepted suites, version by version.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from labs.gnutls import GnutlsServer
from labs.tlslab import profile
from labs.tlsliteserver import TlsliteProfile, TlsliteServer

from .conftest import require_tool, scan_tls

pytestmark = pytest.mark.tools

SSLYZE_COMMANDS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}
SSL_PROFILES = (
    "modern",
    "legacy-tls10",
    "tls11-only",
    "null",
    "anon",
    "dhe-1024",
    "static-rsa",
    "client-order",
)


def run_sslyze(
    binary: str, ports: list[int], out: Path
) -> dict[int, dict[str, tuple[set[str], set[str]]]]:
    """{port: {version: (accepted, attempted)}} from one sslyze invocation."""
    targets = [f"localhost:{port}{{127.0.0.1}}" for port in ports]
    args = [
        binary,
        f"--json_out={out}",
        "--quiet",
        *(f"--{c}" for c in ("sslv2", "sslv3", "tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3")),
    ]
    subprocess.run([*args, *targets], check=True, capture_output=True, timeout=300)
    data = json.loads(out.read_text())
    results: dict[int, dict[str, tuple[set[str], set[str]]]] = {}
    for server in data["server_scan_results"]:
        port = server["server_location"]["port"]
        assert server["scan_status"] == "COMPLETED", server.get("connectivity_error_trace")
        per_version = {}
        for command, label in SSLYZE_COMMANDS.items():
            attempt = server["scan_result"][command]
            assert attempt["status"] == "COMPLETED", (port, command, attempt.get("error_trace"))
            result = attempt["result"]
            accepted = {c["cipher_suite"]["name"] for c in result["accepted_cipher_suites"]}
            rejected = {c["cipher_suite"]["name"] for c in result["rejected_cipher_suites"]}
            per_version[label] = (accepted, accepted | rejected)
        results[port] = per_version
    return results


def test_accepted_suites_match_sslyze(tls_lab, tls_pki, tmp_path) -> None:
    binary = require_tool("sslyze", os.environ.get("KEYWIRE_SSLYZE"))
    servers: dict[str, int] = {}
    cleanup = []
    for name in SSL_PROFILES:
        servers[name] = tls_lab.start(profile(name)).port
    leaf = tls_pki.leaves["rsa-2048"]
    tlslite = TlsliteServer(
        TlsliteProfile(
            versions=((3, 0), (3, 1), (3, 2), (3, 3)),
            ciphers=("aes128gcm", "aes128", "rc4", "3des"),
            key_exchange=("rsa", "ecdhe_rsa"),
            macs=("aead", "sha", "md5"),
        ),
        leaf.cert_pem(),
        leaf.key_pem(),
    )
    cleanup.append(tlslite)
    servers["tlslite-sslv3"] = tlslite.port
    gnutls_binary = require_tool("gnutls-serv")
    cert, key = tls_pki.files("rsa-2048")
    gnutls = GnutlsServer(
        "NONE:+VERS-TLS1.2:+VERS-TLS1.0:+RSA:+ECDHE-RSA:+AES-128-GCM:+AES-128-CBC:+ARCFOUR-128:"
        "+3DES-CBC:+MD5:+AEAD:+SHA1:+COMP-NULL:+SIGN-ALL:+GROUP-ALL",
        cert,
        key,
        executable=gnutls_binary,
    )
    cleanup.append(gnutls)
    servers["gnutls-rc4-3des"] = gnutls.port
    try:
        theirs = run_sslyze(binary, list(servers.values()), tmp_path / "sslyze.json")
        compared = {
            (name, label, suite)
            for name, port in servers.items()
            for label, (accepted, _) in theirs[port].items()
            for suite in accepted
        }
        # The comparison means something: many suites, and the legacy ones OpenSSL 3 lacks.
        assert len(compared) > 60
        assert ("tlslite-sslv3", "SSLv3", "TLS_RSA_WITH_RC4_128_MD5") in compared
        assert ("gnutls-rc4-3des", "TLSv1.2", "TLS_ECDHE_RSA_WITH_RC4_128_SHA") in compared
        assert ("anon", "TLSv1.2", "TLS_DH_anon_WITH_AES_128_GCM_SHA256") in compared
        mismatches = []
        for name, port in servers.items():
            ours = scan_tls(f"https://localhost:{port}/", ca_file=tls_pki.ca_file).details["tls"]
            for label, (accepted, attempted) in theirs[port].items():
                mine = set(ours["protocols"][label]["suites"])
                if (mine & attempted) != accepted:
                    mismatches.append((name, label, sorted(mine & attempted), sorted(accepted)))
                assert accepted or label != "TLSv1.2" or name == "tls11-only", (
                    name,
                    "sslyze saw no TLS 1.2",
                )
    finally:
        for server in cleanup:
            server.close()
    assert not mismatches, mismatches
