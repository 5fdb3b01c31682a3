"""Certificate chain analysis: the verifier's verdict and keywire's reasons, case by case."""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from keywire.tls.certs import TrustStore, analyse_chain, hostname_matches, load_trust_store
from labs.tlspki import make_ca, make_leaf, new_key, now, sign_with_openssl

UTC = datetime.timezone.utc


def der(*issued) -> list[bytes]:
    return [i.cert.public_bytes(Encoding.DER) for i in issued]


@pytest.fixture(scope="module")
def pki():
    root = make_ca("test root")
    return {
        "root": root,
        "inter": make_ca("test intermediate", parent=root),
        "other": make_ca("other root"),
    }


def analyse(chain, pki, host="localhost", when=None):
    return analyse_chain(
        chain, hostname=host, store=TrustStore([pki["root"].cert]), now=when or now()
    )


def test_trusted_chain_with_and_without_root(pki) -> None:
    leaf = make_leaf(pki["inter"])
    for chain in (der(leaf, pki["inter"]), der(leaf, pki["inter"], pki["root"])):
        result = analyse(chain, pki)
        assert result.trusted and result.path == "trusted" and result.path_length == 2
        assert result.anchor == "CN=test root,O=keywire lab"


@pytest.mark.parametrize(
    ("case", "path"),
    [
        ("self-signed", "self_signed"),
        ("untrusted-root", "untrusted_root"),
        ("unknown-issuer", "unknown_issuer"),
        ("incomplete", "incomplete"),
    ],
)
def test_untrusted_paths_are_told_apart(pki, case: str, path: str) -> None:
    chains = {
        "self-signed": lambda: der(make_leaf(None)),
        "untrusted-root": lambda: der(make_leaf(pki["other"]), pki["other"]),
        "unknown-issuer": lambda: der(make_leaf(pki["other"])),
        "incomplete": lambda: der(make_leaf(pki["inter"], ca_issuers_url="http://x.invalid/i")),
    }
    result = analyse(chains[case](), pki)
    assert not result.trusted and result.verify_error
    assert result.path == path


def test_sha1_and_md5_signatures_are_followed() -> None:
    rsa_root = make_ca("rsa root", key=new_key("rsa", 2048))
    pki = {"root": rsa_root}
    for digest in ("sha1", "md5"):
        leaf = sign_with_openssl(rsa_root, digest=digest, key=new_key("rsa", 2048))
        result = analyse(der(leaf), pki)
        assert not result.trusted  # the WebPKI verifier refuses them outright
        assert result.path == "trusted"  # but keywire sees the chain is otherwise fine
        assert result.leaf is not None and result.leaf.signature_hash == digest


def test_expiry_and_names(pki) -> None:
    root = make_ca("old root", not_before=datetime.datetime(2019, 1, 1, tzinfo=UTC))
    pki = {"root": root}
    leaf = make_leaf(
        root,
        names=("api.example",),
        ips=("10.0.0.1",),
        not_before=datetime.datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime.datetime(2021, 1, 1, tzinfo=UTC),
    )
    result = analyse(der(leaf), pki, host="api.example")
    assert not result.trusted and "not valid" in result.verify_error
    assert result.hostname_matches and result.path == "trusted"
    in_window = analyse(
        der(leaf), pki, host="10.0.0.1", when=datetime.datetime(2020, 6, 1, tzinfo=UTC)
    )
    assert in_window.trusted
    assert not analyse(
        der(leaf), pki, host="10.0.0.2", when=datetime.datetime(2020, 6, 1, tzinfo=UTC)
    ).hostname_matches


@pytest.mark.parametrize(
    ("host", "names", "ips", "expected"),
    [
        ("api.example.com", ["*.example.com"], [], True),
        ("example.com", ["*.example.com"], [], False),
        ("a.b.example.com", ["*.example.com"], [], False),
        ("API.Example.com.", ["api.example.com"], [], True),
        ("api.example.com", ["a*.example.com"], [], False),
        ("127.0.0.1", ["127.0.0.1"], [], False),
        ("127.0.0.1", [], ["127.0.0.1"], True),
        ("[::1]", [], ["::1"], True),
        ("*.com", ["*.com"], [], True),
    ],
)
def test_hostname_matching(host: str, names: list[str], ips: list[str], expected: bool) -> None:
    assert hostname_matches(host, names, ips) is expected


def test_unparsable_and_empty_chains(pki) -> None:
    assert analyse([b"\x30\x03\x02\x01\x00"], pki).path == "unparsable"
    assert analyse([], pki).parse_error


def test_default_store_has_public_roots_and_the_ca_file(tmp_path, pki) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki["root"].cert_pem() + b"garbage\n")
    store = load_trust_store(str(ca_file))
    assert len(store.roots) > 100
    assert store.anchors(pki["root"].cert)
    assert not load_trust_store(None).anchors(pki["root"].cert)


def test_cert_info_json(pki) -> None:
    result = analyse(der(make_leaf(pki["root"])), pki)
    data = result.to_json()
    cert = data["certificates"][0]
    assert cert["key"] == "EC secp256r1 256" and cert["signature_algorithm"] == "ecdsa-with-SHA256"
    assert data["validation"]["trusted"] is True


def test_names_are_read_from_the_certificate_as_encoded(pki) -> None:
    """The store matches issuers by the names' DER as the certificates carry them."""
    from keywire.tls import truststore as certs

    leaf = make_leaf(pki["inter"])
    for issued in (leaf, pki["inter"], pki["root"]):
        cert = issued.cert
        assert certs._raw_names(cert) == (cert.issuer.public_bytes(), cert.subject.public_bytes())
    store = load_trust_store(None)
    for root in store.roots[:40]:
        assert certs._raw_names(root) == (root.issuer.public_bytes(), root.subject.public_bytes())
    assert TrustStore([pki["root"].cert]).issuers_of(pki["inter"].cert) == [pki["root"].cert]


def test_a_pem_block_without_its_end_line_does_not_swallow_the_next(tmp_path, pki) -> None:
    from keywire.tls import truststore as certs

    good = pki["root"].cert.public_bytes(Encoding.PEM)
    broken = b"-----BEGIN CERTIFICATE-----\nMIIB\n"  # cut short: no END line
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(broken + good + b"# a comment between blocks\n" + good)
    assert certs._pem_blocks(str(bundle)) == [good, good]
