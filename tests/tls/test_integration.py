"""The TLS family inside a whole scan: the shared per-host cap, --only/--skip, counterparts,
and the JSON report."""

from __future__ import annotations

import contextlib
import json

import pytest
from click.testing import CliRunner

from keywire import OutcomeStatus, ScanOptions, StaticResolver, TargetError, scan
from keywire.cli import main
from keywire.net.http import HttpClient
from labs.tlslab import profile
from labs.tlsserver import SslLabServer, server_context

from .conftest import LAB_NAMES, scan_tls


@pytest.mark.parametrize("per_host", [1, 2, 5])
def test_tls_connections_share_the_per_host_cap(tls_lab, tls_pki, monkeypatch, per_host) -> None:
    original = HttpClient.host_slot
    state = {"active": 0, "max": 0, "acquired": 0}

    @contextlib.asynccontextmanager
    async def counting(self, host, *where):
        async with original(self, host, *where):
            state["active"] += 1
            state["acquired"] += 1
            state["max"] = max(state["max"], state["active"])
            try:
                yield
            finally:
                state["active"] -= 1

    monkeypatch.setattr(HttpClient, "host_slot", counting)
    server = tls_lab.start(profile("legacy-tls10"))
    report = scan(
        f"https://localhost:{server.port}/",
        options=ScanOptions(only=("tls",), ca_file=str(tls_pki.ca_file), per_host=per_host),
        resolver=StaticResolver(LAB_NAMES),
    )
    tls = report.targets[0].details["tls"]
    assert state["max"] == per_host
    assert state["acquired"] == tls["connections"] > 20


def test_cli_only_tls_writes_the_tls_details(tls_lab, tls_pki) -> None:
    server = tls_lab.start(profile("legacy-tls10"))
    result = CliRunner().invoke(
        main,
        [
            "scan",
            "--only",
            "tls",
            "--format",
            "json",
            "--fail-on",
            "none",
            "--ca-file",
            str(tls_pki.ca_file),
            f"https://localhost:{server.port}/",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (target,) = report["targets"]
    # --only tls is the tls group: the TLS scan and the revocation check (nothing to ask here).
    assert [(o["check"], o["status"]) for o in target["outcomes"]] == [
        ("tls", "completed"),
        ("revocation", "skipped"),
    ]
    tls = target["details"]["tls"]
    assert tls["protocols"]["TLSv1.0"]["status"] == "offered"
    assert tls["protocols"]["TLSv1.3"]["status"] == "not offered"
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in tls["protocols"]["TLSv1.2"]["suites"]
    assert tls["certificates"][0]["validation"]["trusted"] is True
    assert tls["certificates"][0]["certificates"][0]["dns_names"] == ["localhost"]
    assert all(p["completed"] for p in tls["probes"].values())
    assert {f["rule_id"] for f in target["findings"]} == {"KW403", "KW404", "KW406", "KW416"}
    assert report["score"]["grade"] == "B"


def test_skip_tls_runs_no_tls_probe(tls_lab, tls_pki) -> None:
    server = tls_lab.start(profile("modern"))
    report = scan(
        f"https://localhost:{server.port}/",
        options=ScanOptions(skip=("tls",), ca_file=str(tls_pki.ca_file), timeout=3),
        resolver=StaticResolver(LAB_NAMES),
    )
    assert "tls" not in {o.check for o in report.outcomes}
    assert "tls" not in report.targets[0].details


def test_http_target_gets_the_tls_scan_of_its_https_counterpart(tls_lab, tls_pki) -> None:
    server = tls_lab.start(profile("legacy-tls10"))
    report = scan(
        "http://localhost:9/",
        options=ScanOptions(only=("tls",), ca_file=str(tls_pki.ca_file), https_port=server.port),
        resolver=StaticResolver(LAB_NAMES),
    )
    target = report.targets[0]
    assert target.scanned
    assert target.details["tls"]["endpoint"] == f"localhost:{server.port}"
    assert {f.rule_id for f in target.findings} == {"KW403", "KW404", "KW406", "KW416"}


def test_http_target_without_https_side_is_a_usage_error_with_only_tls() -> None:
    """Nothing selected applies: a usage error before any traffic (issue 10 item 17)."""
    with pytest.raises(TargetError, match="no selected check applies: tls needs an HTTPS side"):
        scan(
            "http://localhost:9/",
            options=ScanOptions(only=("tls",), timeout=1),
            resolver=StaticResolver(LAB_NAMES),
        )


def test_http_target_without_https_side_skips_tls_beside_other_checks() -> None:
    report = scan(
        "http://localhost:9/",
        options=ScanOptions(only=("tls", "cleartext"), timeout=1),
        resolver=StaticResolver(LAB_NAMES),
    )
    outcomes = {o.check: o for o in report.targets[0].outcomes}
    assert outcomes["tls"].status is OutcomeStatus.SKIPPED


def test_a_name_with_a_dead_first_address_is_scanned_on_the_live_one(tls_lab, tls_pki) -> None:
    server = tls_lab.start(profile("wildcard"))
    report = scan(
        f"https://api.lab.test:{server.port}/",
        options=ScanOptions(only=("tls",), ca_file=str(tls_pki.ca_file), timeout=3),
        resolver=StaticResolver({"api.lab.test": ["127.0.0.3", "127.0.0.1"]}),
    )
    target = report.targets[0]
    assert target.details["tls"]["address"] == "127.0.0.1"
    assert target.outcomes[0].status is OutcomeStatus.COMPLETED
    assert not target.findings


@pytest.mark.parametrize(
    ("versions", "protocols", "expected"),
    [
        (("TLSv1.2", "TLSv1.2"), ["h2", "http/1.1"], ["h2"]),
        (("TLSv1.3", "TLSv1.3"), ["h2", "http/1.1"], ["h2"]),
        (("TLSv1.3", "TLSv1.3"), ["http/1.1"], ["http/1.1"]),
        (("TLSv1.2", "TLSv1.3"), [], []),
    ],
)
def test_alpn_is_read_from_the_server_hello_and_the_encrypted_extensions(
    tls_pki, versions, protocols, expected
) -> None:
    cert, key = tls_pki.files("good")
    context = server_context(cert, key, min_version=versions[0], max_version=versions[1])
    if protocols:
        context.set_alpn_protocols(protocols)
    with SslLabServer(context) as server:
        result = scan_tls(server.url.replace("127.0.0.1", "localhost"), ca_file=tls_pki.ca_file)
    assert result.details["tls"]["alpn"] == expected


@pytest.mark.parametrize(
    ("args", "config", "probed"),
    [
        ((), "", True),
        (("--no-vulnerability-probes",), "", False),
        ((), "vulnerability-probes = false\n", False),
        (("--vulnerability-probes",), "vulnerability-probes = false\n", True),
    ],
)
def test_cli_vulnerability_probes_option_and_config_key(
    tls_pki, tmp_path, monkeypatch, args, config, probed
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from labs.depthlab import responder_profile
    from labs.tlsresponder import TlsResponder

    monkeypatch.chdir(tmp_path)
    if config:
        (tmp_path / "keywire.toml").write_text(config, encoding="utf-8")
    leaf = tls_pki.leaves["rsa-2048"]
    profile_ = responder_profile("heartbleed", leaf.cert.public_bytes(Encoding.DER), leaf.key_pem())
    with TlsResponder(profile_) as server:
        result = CliRunner().invoke(
            main,
            [
                "scan",
                "--only",
                "tls",
                "--format",
                "json",
                "--fail-on",
                "none",
                "--ca-file",
                str(tls_pki.ca_file),
                *args,
                server.url,
            ],
        )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (target,) = report["targets"]
    assert report["options"]["vulnerability_probes"] is probed
    assert ("KW427" in {f["rule_id"] for f in target["findings"]}) is probed
    assert target["details"]["tls"]["probes"]["Heartbleed"].get("skipped", False) is not probed
