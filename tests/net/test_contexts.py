"""One verifying TLS context per process (and CA file); the unverifying one loads no CA bundle.

Each CA bundle load costs tens of milliseconds; a scan used to load the system's three times
(checking ``--ca-file``, the verifying context, the unverifying one) and certifi's once.
"""

from __future__ import annotations

import asyncio
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
from keywire.net.http import _verifying_context


@pytest.fixture
def counted(monkeypatch):
    """Count what goes into OpenSSL's stores: the system's default bundle, a CA file by name,
    and the certificates handed over in memory ("N roots")."""
    contexts.forget_contexts()
    loads: list[str] = []
    real_default, real_locations = (
        ssl.SSLContext.load_default_certs,
        ssl.SSLContext.load_verify_locations,
    )

    def load_default_certs(self, *args, **kwargs):
        loads.append("system")
        return real_default(self, *args, **kwargs)

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile:
            loads.append(Path(cafile).name)
        if cadata:
            before = self.cert_store_stats()["x509"]
            real_locations(self, cadata=cadata)
            loads.append(f"{self.cert_store_stats()['x509'] - before} roots")
        if cafile or capath:
            real_locations(self, cafile, capath)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", load_default_certs)
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)
    yield loads
    contexts.forget_contexts()


def test_the_verifying_context_is_built_once_per_ca_file(counted, ca_file):
    first = verifying_context(ca_file)
    assert verifying_context(ca_file) is first
    assert verifying_context() is verifying_context()
    assert verifying_context() is not first
    assert counted.count(Path(ca_file).name) == 1
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    assert not first.verify_flags & ssl.VERIFY_X509_STRICT


def test_a_context_prepared_in_the_background_is_the_one_handed_out(counted, ca_file, tmp_path):
    contexts.prepare_verifying_context(ca_file)
    prepared = verifying_context(ca_file)
    assert asyncio.run(_verifying_context(ca_file)) is prepared
    assert counted.count(Path(ca_file).name) == 1
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    contexts.prepare_verifying_context(str(bad))  # raises only when the context is asked for
    with pytest.raises(CaFileError):
        verifying_context(str(bad))
    with pytest.raises(CaFileError):
        asyncio.run(_verifying_context(str(bad)))
    bad.write_text(Path(ca_file).read_text())  # fixed: a new file (size and time), a new build
    assert verifying_context(str(bad)).cert_store_stats()["x509_ca"] > 0


def test_the_roots_are_the_system_bundle_and_certifi_without_repeats():
    """The same trust anchors as OpenSSL's defaults plus certifi, loaded the cheap way."""
    import certifi

    reference = ssl.create_default_context()
    reference.load_verify_locations(cafile=certifi.where())
    assert verifying_context().cert_store_stats() == reference.cert_store_stats()
    assert verifying_context().get_ca_certs(binary_form=True) == reference.get_ca_certs(
        binary_form=True
    )


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
    # One context: the system's and certifi's bundles once each (from their files, which
    # OpenSSL reads without the interpreter lock), the CA file checked and then loaded.
    system = Path(ssl.get_default_verify_paths().cafile or "none").name
    assert counted.count(system) == 1 and counted.count("cacert.pem") == 1, counted
    assert not [load for load in counted if load.endswith(" roots")], counted
    assert "system" not in counted, counted
    assert counted.count(Path(api.ca_file).name) == 2, counted


def test_a_tls_only_scan_loads_no_bundle_into_openssl(counted, runner, lab_api):
    """The TLS checks verify with their own store: no HTTPS request, no verifying context."""
    api = lab_api()
    result = runner.invoke(
        main,
        ["scan", api.https.url, "--only", "tls", "--ca-file", api.ca_file, "--format", "json"],
    )
    assert result.exit_code in (0, 1), result.stderr
    assert counted == [Path(api.ca_file).name], counted  # checked, nothing more


def test_certifis_bundle_is_found_without_importing_certifi(monkeypatch):
    import importlib.util

    import certifi

    from keywire import _certifi

    _certifi.certifi_bundle.cache_clear()
    assert _certifi.certifi_bundle() == certifi.where()
    _certifi.certifi_bundle.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # not a directory install
    assert _certifi.certifi_bundle() == certifi.where()
    _certifi.certifi_bundle.cache_clear()
