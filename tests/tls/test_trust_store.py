"""The trust store: each distinct root parsed once, whatever the bundles repeat."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from keywire.tls.certs import load_trust_store


def test_a_root_in_several_bundles_is_one_root_and_an_anchor(tmp_path: Path, tls_pki):
    ca_pem = Path(tls_pki.ca_file).read_bytes()
    cas = x509.load_pem_x509_certificates(ca_pem)
    ca = cas[0]
    # The same CA twice, once with Windows line ends and a comment, as bundles are written.
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# Lab root\n" + ca_pem + ca_pem.replace(b"\n", b"\r\n"))
    load_trust_store.cache_clear()
    try:
        alone = load_trust_store(None)
        with_lab = load_trust_store(str(bundle))
    finally:
        load_trust_store.cache_clear()
    assert len(with_lab.roots) == len(alone.roots) + len(set(cas))
    assert with_lab.anchors(ca) and not alone.anchors(ca)
    assert with_lab.issuers_of(ca) == [r for r in with_lab.roots if r == ca]
