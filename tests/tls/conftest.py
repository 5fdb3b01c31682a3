"""Fixtures of the TLS tests: the lab PKI, Python ssl servers, and a one-call TLS scan."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

from keywire import OutcomeStatus, ScanOptions, StaticResolver, TargetResult
from labs.tlslab import LabPki, TlsLab, build_pki

from ..judged import scan_judged

LAB_NAMES = {"localhost": ["127.0.0.1"], "api.lab.test": ["127.0.0.1"]}


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> LabPki:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return build_pki(tmp_path_factory.mktemp("tlslab"))


@pytest.fixture
def tls_lab(tls_pki: LabPki):
    lab = TlsLab(tls_pki)
    yield lab
    lab.close()


def scan_tls(
    url: str, *, ca_file: Path | None = None, timeout: float = 5.0, per_host: int = 5
) -> TargetResult:
    """A keywire scan of ``url`` with only the TLS family, names resolved from LAB_NAMES.

    (The ``revocation`` family, also in the tls group, is tested in test_revocation.py.)
    """
    report = scan_judged(
        url,
        options=ScanOptions(
            only=("tls",),
            skip=("revocation",),
            ca_file=str(ca_file) if ca_file else None,
            timeout=timeout,
            per_host=per_host,
        ),
        resolver=StaticResolver(LAB_NAMES),
    )
    return report.targets[0]


def rule_ids(result: TargetResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def completed(result: TargetResult) -> bool:
    """The TLS scan completed and no check errored (revocation may have nothing to ask)."""
    statuses = {o.check: o.status for o in result.outcomes}
    return statuses.get("tls") is OutcomeStatus.COMPLETED and all(
        status is not OutcomeStatus.ERROR for status in statuses.values()
    )


def require_tool(name: str, path: str | None = None) -> str:
    """The path of an external tool; skip without it, unless KEYWIRE_REQUIRE_TOOLS=1."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    if found:
        return found
    if os.environ.get("KEYWIRE_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{name} is required (KEYWIRE_REQUIRE_TOOLS=1) but not installed")
    pytest.skip(f"{name} is not installed")
