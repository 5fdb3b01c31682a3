"""Cross-check: on the same lab servers, keywire's verdicts past the first flight match sslyze's.

sslyze (``KEYWIRE_SSLYZE``) runs its heartbleed, openssl_ccs_injection, robot,
session_renegotiation, session_resumption and tls_1_3_early_data commands on every server of the
depth lab it can talk to: the scripted responder's cases (it completes real handshakes with
their key), nginx with and without 0-RTT, Python ssl with and without client-initiated
renegotiation, and gnutls-serv. Verdicts must be equal wherever sslyze reaches one.

Left out, with the reason: openssl s_server's 0-RTT cases (sslyze's early-data test sends an
HTTP request and waits for an answer s_server never gives, so it says "no" whatever the server
does); session-ID resumption on Python ssl servers (the lab server drops the session of a
connection it did not shut down, so both tools' answers there depend on timing); and sslyze's
CCS injection verdict on the CBC variant: sslyze only counts bad_record_mac as vulnerable, while
OpenSSL 1.0.1 answers a record shorter than a CBC block with decryption_failed (testssl.sh
counts only that one; keywire counts both).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from labs.depthlab import NGINX_CASES, RESPONDER_CASES, responder_profile
from labs.gnutls import GnutlsServer
from labs.nginxserver import NginxServer
from labs.tlslab import profile
from labs.tlsresponder import TlsResponder

from .conftest import require_tool, scan_tls

pytestmark = pytest.mark.tools

COMMANDS = ("--heartbleed", "--openssl_ccs", "--robot", "--reneg", "--resum", "--early_data")
ROBOT = {
    "VULNERABLE_STRONG_ORACLE": (True, "strong"),
    "VULNERABLE_WEAK_ORACLE": (True, "weak"),
    "NOT_VULNERABLE_NO_ORACLE": (False, "none"),
}
RESUMPTION = {"FULLY_SUPPORTED": True, "NOT_SUPPORTED": False}


def _sslyze(binary: str, ports: list[int], out: Path) -> dict[int, dict[str, object]]:
    targets = [f"localhost:{port}{{127.0.0.1}}" for port in ports]
    subprocess.run(
        [binary, "--quiet", f"--json_out={out}", *COMMANDS, *targets],
        check=True,
        capture_output=True,
        timeout=600,
    )
    results = {}
    for server in json.loads(out.read_text())["server_scan_results"]:
        assert server["scan_status"] == "COMPLETED", server.get("connectivity_error_trace")
        results[server["server_location"]["port"]] = {
            name: attempt["result"]
            for name, attempt in server["scan_result"].items()
            if attempt and attempt.get("status") == "COMPLETED"
        }
    return results


def _compare(name: str, theirs: dict[str, object], ours: dict[str, object]) -> list[tuple]:
    mismatches: list[tuple] = []
    vulns: dict = ours["vulnerabilities"]  # type: ignore[assignment]

    def differ(what: str, their: object, our: object) -> None:
        if their != our:
            mismatches.append((name, what, their, our))

    if "heartbleed" in theirs:
        differ(
            "heartbleed",
            theirs["heartbleed"]["is_vulnerable_to_heartbleed"],  # type: ignore[index]
            vulns["Heartbleed"]["vulnerable"],
        )
    if "openssl_ccs_injection" in theirs and not name.endswith("-cbc"):
        differ(
            "ccs",
            theirs["openssl_ccs_injection"]["is_vulnerable_to_ccs_injection"],  # type: ignore[index]
            vulns["CCS injection"]["vulnerable"],
        )
    if "robot" in theirs:
        verdict = theirs["robot"]["robot_result"]  # type: ignore[index]
        if verdict == "NOT_VULNERABLE_RSA_NOT_SUPPORTED":
            differ("robot", "not applicable", "ROBOT" not in vulns and "not applicable")
        else:
            robot = vulns["ROBOT"]
            differ("robot", ROBOT.get(verdict, verdict), (robot["vulnerable"], robot["oracle"]))
    if "session_renegotiation" in theirs:
        differ(
            "client renegotiation",
            theirs["session_renegotiation"]["is_vulnerable_to_client_renegotiation_dos"],  # type: ignore[index]
            ours["renegotiation"]["client_initiated_honoured"],  # type: ignore[index]
        )
    if "tls_1_3_early_data" in theirs:
        differ(
            "early data",
            theirs["tls_1_3_early_data"]["supports_early_data"],  # type: ignore[index]
            bool(ours["early_data"]["accepted"]),  # type: ignore[index]
        )
    if "session_resumption" in theirs:
        result = theirs["session_resumption"]
        for field, key in (
            ("session_id_resumption_result", "session_id"),
            ("tls_ticket_resumption_result", "ticket"),
        ):
            if field == "session_id_resumption_result" and name.startswith("python-ssl"):
                continue  # see the module docstring
            verdict = result[field]  # type: ignore[index]
            if ours["resumption"][key] is None:  # type: ignore[index]
                continue  # resumed by ticket: keywire does not try session IDs then
            if verdict in RESUMPTION:
                differ(key, RESUMPTION[verdict], ours["resumption"][key])  # type: ignore[index]
    return mismatches


def test_depth_verdicts_match_sslyze(tls_lab, tls_pki, tmp_path) -> None:
    binary = require_tool("sslyze", os.environ.get("KEYWIRE_SSLYZE"))
    leaf = tls_pki.leaves["rsa-2048"]
    der, key = leaf.cert.public_bytes(Encoding.DER), leaf.key_pem()
    servers: dict[str, int] = {}
    cleanup: list = []
    try:
        for name in RESPONDER_CASES:
            server = TlsResponder(responder_profile(name, der, key))
            cleanup.append(server)
            servers[f"responder {name}"] = server.port
        cert, key_file = tls_pki.files("good")
        nginx_binary = require_tool("nginx", "/usr/sbin/nginx")
        for name, case in NGINX_CASES.items():
            directives = case.settings.get("directives", ())
            nginx = NginxServer(cert, key_file, directives, executable=nginx_binary)
            cleanup.append(nginx)
            servers[name] = nginx.port
        for name in ("client-renegotiation", "modern", "static-rsa"):
            servers[f"python-ssl {name}"] = tls_lab.start(profile(name)).port
        rsa_cert, rsa_key = tls_pki.files("rsa-2048")
        gnutls = GnutlsServer(
            "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-RSA:+AES-128-GCM:+AEAD:+SIGN-ALL:+GROUP-ALL",
            rsa_cert,
            rsa_key,
            executable=require_tool("gnutls-serv"),
        )
        cleanup.append(gnutls)
        servers["gnutls-serv"] = gnutls.port
        theirs = _sslyze(binary, list(servers.values()), tmp_path / "sslyze.json")
        mismatches = []
        compared = 0
        for name, port in servers.items():
            ours = scan_tls(f"https://localhost:{port}/", ca_file=tls_pki.ca_file).details["tls"]
            mismatches += _compare(name, theirs[port], ours)
            compared += len(theirs[port])
    finally:
        for server in cleanup:
            server.close()
    # The comparison means something: every flaw of the lab is among them.
    assert compared > 80
    robot = {theirs[servers[f"responder {n}"]]["robot"]["robot_result"] for n in RESPONDER_CASES}
    assert {"VULNERABLE_STRONG_ORACLE", "VULNERABLE_WEAK_ORACLE"} <= robot
    assert theirs[servers["responder heartbleed"]]["heartbleed"]["is_vulnerable_to_heartbleed"]
    assert theirs[servers["nginx-early-data"]]["tls_1_3_early_data"]["supports_early_data"]
    assert not mismatches, mismatches
