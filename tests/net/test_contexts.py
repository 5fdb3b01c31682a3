"""One verifying TLS context per process (and CA file); the unverifying one loads no CA bundle.

Each CA bundle load costs tens of milliseconds; a scan used to load the system's three times
(checking ``--ca-file``, the verifying context, the unverifying one) and certifi's once.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from keywire.cli import main
from keywire.net import contexts
from keywire.net.contexts import (
    CaFileError,
    check_ca_file,
    unverifying_context,
    verifying_context,
)


@pytest.fixture
def counted(monkeypatch):
    """Count the CA bundles loaded (``load_default_certs`` and ``load_verify_locations``)."""
    contexts._verifying.cache_clear()
    loads: list[str] = []
    real_default, real_locations = (
        ssl.SSLContext.load_default_certs,
        ssl.SSLContext.load_verify_locations,
    )

    def load_default_certs(self, *args, **kwargs):
        loads.append("system")
        return real_default(self, *args, **kwargs)

    def load_verify_locations(self, cafile=None, *args, **kwargs):
        loads.append(Path(cafile).name if cafile else "other")
        return real_locations(self, cafile, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", load_default_certs)
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)
    yield loads
    contexts._verifying.cache_clear()


def test_the_verifying_context_is_built_once_per_ca_file(counted, ca_file):
    first = verifying_context(ca_file)
    assert verifying_context(ca_file) is first
    assert verifying_context() is verifying_context()
    assert verifying_context() is not first
    assert counted.count(Path(ca_file).name) == 1
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    assert not first.verify_flags & ssl.VERIFY_X509_STRICT


def test_the_unverifying_context_loads_no_bundle():
    context = unverifying_context()
    assert context.verify_mode is ssl.CERT_NONE and not context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_a_bad_ca_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    for check in (verifying_context, check_ca_file):
        with pytest.raises(CaFileError):
            check(str(bad))
        with pytest.raises(CaFileError, match="No such file"):
            check(str(tmp_path / "missing.pem"))


def test_checking_a_ca_file_loads_no_bundle(counted, ca_file):
    check_ca_file(ca_file)
    assert counted == [Path(ca_file).name]


def test_a_scan_loads_each_bundle_once(counted, runner, lab_api):
    """Checking ``--ca-file`` loads no bundle; the scan's HTTPS requests share one context."""
    api = lab_api()
    result = runner.invoke(
        main,
        [
            "scan",
            api.https.url + "/v1/resource",
            "--http-port",
            str(api.http.port),
            "--ca-file",
            api.ca_file,
            "--skip",
            "tls",
            "--format",
            "json",
        ],
    )
    assert result.exit_code in (0, 1), result.stderr
    assert counted.count("system") == 1, counted
    assert counted.count("cacert.pem") == 1, counted  # certifi's
    assert counted.count(Path(api.ca_file).name) == 2, counted  # checked, then loaded once


def test_a_tls_only_scan_loads_no_bundle_into_openssl(counted, runner, lab_api):
    """The TLS checks verify with their own store: no HTTPS request, no verifying context."""
    api = lab_api()
    result = runner.invoke(
        main,
        ["scan", api.https.url, "--only", "tls", "--ca-file", api.ca_file, "--format", "json"],
    )
    assert result.exit_code in (0, 1), result.stderr
    assert "system" not in counted and "cacert.pem" not in counted, counted
