"""Cross-check of the item-9 certificate rules with sslyze's certinfo on the same servers.

sslyze has no rule for expiry ahead, a leaf outliving its issuer or a missing EKU (it reports
the dates and accepts those chains); where it does judge, it must agree with keywire:
a client-auth-only EKU and a certificate without subjectAltName fail its validation, and its
OpenSSL client cannot even connect to the 10,000-name server that keywire reads and reports
as an interoperability risk (KW625).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from labs.tlslab import profile

from .conftest import require_tool, rule_ids, scan_tls

pytestmark = pytest.mark.tools

PROFILES = ("eku-client-only", "cn-only", "no-eku", "huge-chain", "large-chain")


def test_certificate_verdicts_agree_with_sslyze(tls_lab, tls_pki, tmp_path) -> None:
    binary = require_tool("sslyze", os.environ.get("KEYWIRE_SSLYZE"))
    ports = {name: tls_lab.start(profile(name)).port for name in PROFILES}
    out = tmp_path / "sslyze.json"
    subprocess.run(
        [
            binary,
            "--certinfo",
            f"--certinfo_ca_file={tls_pki.ca_file}",
            f"--json_out={out}",
            "--quiet",
            *(f"localhost:{port}{{127.0.0.1}}" for port in ports.values()),
        ],
        check=False,  # sslyze exits non-zero when a server is unreachable to it
        capture_output=True,
        timeout=300,
    )
    sslyze: dict[str, str] = {}
    for server in json.loads(out.read_text())["server_scan_results"]:
        name = next(n for n, p in ports.items() if p == server["server_location"]["port"])
        if server["scan_status"] != "COMPLETED":
            sslyze[name] = "no connectivity"
            continue
        deployment = server["scan_result"]["certificate_info"]["result"]["certificate_deployments"][
            0
        ]
        (supplied,) = [
            r
            for r in deployment["path_validation_results"]
            if r["trust_store"]["name"] == "Supplied CA file"
        ]
        sslyze[name] = "valid" if supplied["was_validation_successful"] else "invalid"
    assert sslyze == {
        "eku-client-only": "invalid",
        "cn-only": "invalid",
        "no-eku": "valid",
        "huge-chain": "no connectivity",
        "large-chain": "valid",
    }
    keywire = {
        name: rule_ids(scan_tls(f"https://localhost:{port}/", ca_file=tls_pki.ca_file))
        for name, port in ports.items()
    }
    assert keywire == {
        "eku-client-only": {"KW622"},
        "cn-only": {"KW624"},
        "no-eku": {"KW623"},
        "huge-chain": {"KW625"},
        "large-chain": set(),
    }
