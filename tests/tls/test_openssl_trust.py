"""Certificates are trusted the way the API's real clients trust them (issue 10, item 5).

Every chain here is made by the real ``openssl`` command line, as people make them. keywire's
verdict (``analyse_chain(...).trusted``) must agree with ``openssl verify -purpose sslserver``
and with Python's ``ssl`` in a real handshake; what the strict X.509 profile would refuse in a
chain OpenSSL trusts is reported as KW613 (low), in words, never as HIGH KW604 with a Python repr
or a bare OID, and ``--header`` credentials are then sent.
"""

from __future__ import annotations

import datetime
import json
import re
import socket
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from keywire.cli import main
from keywire.lab import LabServer
from keywire.net.http import verifying_context
from keywire.tls.certs import TrustStore, analyse_chain, in_words
from labs.apps import Behaviour, make_app
from labs.tlsserver import SslLabServer

from .conftest import require_tool

SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1\n"


@dataclass(frozen=True)
class Case:
    name: str
    leaf: str
    intermediates: tuple[str, ...]
    root: str
    openssl_trusts: bool  # measured with openssl verify, Python ssl and curl (see the module doc)
    deviates: bool = False  # the strict profile refuses what OpenSSL trusts


CASES = (
    Case("plain req -x509 CA, no keyUsage", "leaf_ca_plain", (), "ca_plain", True, True),
    Case("leaf from req -x509 -CA asserts cA", "leaf_reqx509", (), "ca_plain", True, True),
    Case("CA keyUsage without keyCertSign", "leaf_ca_ku_nocertsign", (), "ca_ku_nocertsign", False),
    Case("CA basicConstraints not critical", "leaf_ca_bc_noncrit", (), "ca_bc_noncrit", True, True),
    Case("CA without basicConstraints", "leaf_ca_nobc", (), "ca_nobc", False),
    Case("leaf EKU clientAuth only", "leaf_eku_client", (), "ca_good", False),
    Case("leaf EKU anyExtendedKeyUsage only", "leaf_eku_any", (), "ca_good", False),
    Case("leaf keyUsage keyCertSign only", "leaf_ku_certsign", (), "ca_good", False),
    Case("leaf keyUsage signature+keyCertSign", "leaf_ku_ds_certsign", (), "ca_good", True, True),
    Case("leaf SAN critical, subject not empty", "leaf_san_critical", (), "ca_good", True, True),
    Case("leaf unknown critical extension", "leaf_unknown_critical", (), "ca_good", False),
    Case("leaf without authority key id", "leaf_no_aki", (), "ca_good", True, True),
    Case("leaf cA:TRUE through -extfile", "leaf_bc_ca", (), "ca_good", True, True),
    Case("good leaf and CA", "leaf_good", (), "ca_good", True),
    Case("good intermediate", "leaf_int_good", ("int_good",), "ca_good", True),
    Case(
        "intermediate below pathlen:0", "leaf_int_pathlen0", ("int_pathlen0",), "ca_pathlen0", False
    ),
    Case("intermediate without basicConstraints", "leaf_int_nobc", ("int_nobc",), "ca_good", False),
    Case("intermediate without keyUsage", "leaf_int_noku", ("int_noku",), "ca_good", True, True),
    Case(
        "intermediate EKU clientAuth only",
        "leaf_int_eku_client",
        ("int_eku_client",),
        "ca_good",
        False,
    ),
)


class Pki:
    def __init__(self, root: Path, openssl: str) -> None:
        self.dir = root
        self.openssl = openssl

    def run(self, *args: str) -> None:
        subprocess.run(  # fixed arguments, files in the test's directory
            [self.openssl, *args], cwd=self.dir, check=True, capture_output=True, timeout=60
        )

    def conf(self, name: str, text: str) -> str:
        (self.dir / name).write_text(text, encoding="ascii")
        return name

    def root(self, name: str, *extra: str) -> None:
        self.run("req", "-x509", "-new", "-key", "ca.key", "-out", f"{name}.pem", "-days", "365",
                 "-subj", "/CN=Plain Lab CA", *extra)  # fmt: skip

    def root_from_config(self, name: str, extensions: str) -> None:
        config = self.conf(
            f"{name}.cnf",
            f"[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\n{extensions}",
        )
        self.run("req", "-x509", "-new", "-key", "ca.key", "-out", f"{name}.pem", "-days", "365",
                 "-subj", "/CN=Plain Lab CA", "-config", config)  # fmt: skip

    def sign(self, name: str, csr: str, issuer: str, issuer_key: str, extensions: str) -> None:
        self.run("x509", "-req", "-in", csr, "-CA", f"{issuer}.pem", "-CAkey", issuer_key,
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "30",
                 "-extfile", self.conf(f"{name}.ext", extensions))  # fmt: skip

    def path(self, stem: str) -> Path:
        return self.dir / f"{stem}.pem"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Every certificate of CASES, made with the openssl command line."""
    pki = Pki(tmp_path_factory.mktemp("openssl-pki"), require_tool("openssl"))
    for key in ("ca.key", "leaf.key", "int.key"):
        pki.run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
    pki.root("ca_plain")
    pki.root("ca_ku_nocertsign", "-addext", "keyUsage=critical,digitalSignature")
    pki.root("ca_pathlen0", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0")
    pki.root("ca_good", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    pki.root_from_config("ca_bc_noncrit", "basicConstraints=CA:TRUE\nsubjectKeyIdentifier=hash\n")
    pki.root_from_config("ca_nobc", "subjectKeyIdentifier=hash\n")
    pki.run("req", "-new", "-key", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost")
    pki.run("req", "-new", "-key", "int.key", "-out", "int.csr", "-subj", "/CN=Intermediate")
    for ca in ("plain", "ku_nocertsign", "bc_noncrit", "nobc"):
        pki.sign(f"leaf_ca_{ca}", "leaf.csr", f"ca_{ca}", "ca.key", SAN)
    leaves = {
        "leaf_eku_client": SAN + "extendedKeyUsage=clientAuth\n",
        "leaf_eku_any": SAN + "extendedKeyUsage=anyExtendedKeyUsage\n",
        "leaf_ku_certsign": SAN + "keyUsage=critical,keyCertSign\n",
        "leaf_ku_ds_certsign": SAN + "keyUsage=critical,digitalSignature,keyCertSign\n",
        "leaf_san_critical": "subjectAltName=critical,DNS:localhost,IP:127.0.0.1\n",
        "leaf_unknown_critical": SAN + "1.2.3.4.5.6.7=critical,ASN1:NULL\n",
        "leaf_no_aki": SAN + "authorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n",
        "leaf_bc_ca": SAN + "basicConstraints=critical,CA:TRUE\n",
        "leaf_good": SAN,
    }
    for name, extensions in leaves.items():
        pki.sign(name, "leaf.csr", "ca_good", "ca.key", extensions)
    # "the usual": openssl req -x509 -CA signs a leaf with the v3_ca section (cA asserted)
    pki.run("req", "-x509", "-new", "-key", "leaf.key", "-out", "leaf_reqx509.pem", "-days", "30",
            "-subj", "/CN=localhost", "-CA", "ca_plain.pem", "-CAkey", "ca.key",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")  # fmt: skip
    ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n"
    pki.sign("int_good", "int.csr", "ca_good", "ca.key", ca_ext)
    pki.sign("int_pathlen0", "int.csr", "ca_pathlen0", "ca.key", ca_ext)
    pki.sign("int_nobc", "int.csr", "ca_good", "ca.key", "subjectKeyIdentifier=hash\n")
    pki.sign("int_noku", "int.csr", "ca_good", "ca.key", "basicConstraints=critical,CA:TRUE\n")
    pki.sign(
        "int_eku_client", "int.csr", "ca_good", "ca.key", ca_ext + "extendedKeyUsage=clientAuth\n"
    )
    for intermediate in ("good", "pathlen0", "nobc", "noku", "eku_client"):
        pki.sign(f"leaf_int_{intermediate}", "leaf.csr", f"int_{intermediate}", "int.key", SAN)
    return pki


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _analyse(pki: Pki, case: Case):  # type: ignore[no-untyped-def]
    served = [_load(pki.path(case.leaf)), *(_load(pki.path(i)) for i in case.intermediates)]
    return analyse_chain(
        [c.public_bytes(Encoding.DER) for c in served],
        hostname="localhost",
        store=TrustStore([_load(pki.path(case.root))]),
        now=datetime.datetime.now(datetime.timezone.utc),
    )


def _openssl_verify(pki: Pki, case: Case) -> bool:
    args = ["verify", "-purpose", "sslserver", "-verify_hostname", "localhost"]
    args += ["-CAfile", str(pki.path(case.root))]
    if case.intermediates:
        bundle = pki.dir / f"{case.leaf}.untrusted.pem"
        bundle.write_bytes(b"".join(pki.path(i).read_bytes() for i in case.intermediates))
        args += ["-untrusted", str(bundle)]
    result = subprocess.run(  # fixed arguments, files in the test's directory
        [pki.openssl, *args, str(pki.path(case.leaf))], capture_output=True, timeout=60
    )
    return result.returncode == 0


def _chain_file(pki: Pki, case: Case) -> Path:
    chain = pki.dir / f"{case.leaf}.chain.pem"
    chain.write_bytes(b"".join(pki.path(s).read_bytes() for s in (case.leaf, *case.intermediates)))
    return chain


def _python_ssl_trusts(pki: Pki, case: Case) -> bool:
    """A real handshake with Python's ssl (without VERIFY_X509_STRICT, as OpenSSL's default)."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(_chain_file(pki, case), pki.dir / "leaf.key")
    client = ssl.create_default_context(cafile=str(pki.path(case.root)))
    client.verify_flags &= ~ssl.VERIFY_X509_STRICT
    with SslLabServer(server_context) as server:
        try:
            with (
                socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
                client.wrap_socket(sock, server_hostname="localhost"),
            ):
                return True
        except ssl.SSLCertVerificationError:
            return False


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trust_agrees_with_openssl(pki, case):
    assert _openssl_verify(pki, case) is case.openssl_trusts  # the table is what openssl says
    analysis = _analyse(pki, case)
    assert analysis.trusted is case.openssl_trusts, analysis.verify_error
    assert bool(analysis.deviations) is case.deviates, analysis.deviations
    for text in (analysis.verify_error, *analysis.deviations):
        assert "<Certificate" not in text and "Name(" not in text
        unlabelled = re.sub(r"\(OID [\d.]+\)", "", text)  # an unknown one is named as such
        assert not re.search(r"\b(?:2\.5\.29|1\.3\.6\.1|2\.16\.840)\.", unlabelled), text


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.intermediates or c.leaf in ("leaf_ca_plain", "leaf_reqx509")]
)
def test_trust_agrees_with_python_ssl_in_a_real_handshake(pki, case):
    assert _python_ssl_trusts(pki, case) is case.openssl_trusts
    assert _analyse(pki, case).trusted is case.openssl_trusts


def test_deviations_name_the_extension_in_words(pki):
    plain = _analyse(pki, CASES[0])
    assert plain.deviations == (
        "the CA certificate 'CN=Plain Lab CA' has no key usage extension (a CA must assert "
        "keyCertSign, RFC 5280 section 4.2.1.3)",
    )
    leaf_ca = _analyse(pki, CASES[1])
    assert any("asserts cA in its basic constraints" in d for d in leaf_ca.deviations)
    unknown = next(c for c in CASES if c.leaf == "leaf_unknown_critical")
    assert (
        "an extension unknown to keywire (OID 1.2.3.4.5.6.7)" in _analyse(pki, unknown).verify_error
    )


def test_in_words_drops_reprs_and_names_oids():
    message = (
        "validation failed: basicConstraints.cA must not be asserted in an EE certificate "
        "(encountered processing <Certificate(subject=<Name(CN=localhost)>, ...)>)"
    )
    assert in_words(message) == "basicConstraints.cA must not be asserted in an EE certificate"
    assert in_words("invalid extension: 2.5.29.35: Certificate is missing required extension") == (
        "invalid extension: the authority key identifier extension: Certificate is missing "
        "required extension"
    )


def test_keywires_own_client_context_is_not_stricter_than_openssl():
    """Python 3.13 sets VERIFY_X509_STRICT by default; keywire's client must not inherit it."""
    assert not verifying_context().verify_flags & ssl.VERIFY_X509_STRICT


@pytest.mark.parametrize("leaf", ["leaf_ca_plain", "leaf_reqx509"])
def test_scan_trusts_an_openssl_made_ca_and_sends_the_credentials(pki, runner, leaf):
    """The issue's case, end to end: --ca-file of a plain openssl CA, --header credentials."""
    case = next(c for c in CASES if c.leaf == leaf)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(_chain_file(pki, case), pki.dir / "leaf.key")
    behaviour = Behaviour()
    key = behaviour.valid_keys[0]
    with LabServer(make_app(behaviour), ssl_context=context) as server:
        result = runner.invoke(
            main,
            [
                "scan",
                f"{server.url}/v1/resource",
                "--ca-file",
                str(pki.path(case.root)),
                "--header",
                f"X-API-Key: {key}",
                "--only",
                "tls",
                "--only",
                "authenticated",
                "--timeout",
                "5",
                "--format",
                "json",
            ],
        )
    document = json.loads(result.stdout)
    findings = {f["rule_id"]: f for t in document["targets"] for f in t["findings"]}
    assert "KW604" not in findings
    strict = findings["KW613"]
    assert strict["severity"] == "low"
    assert "has no key usage extension" in strict["message"]
    assert "<Certificate" not in result.stdout and "2.5.29." not in result.stdout
    outcomes = {o["check"]: o["status"] for t in document["targets"] for o in t["outcomes"]}
    assert outcomes == {"tls": "completed", "authenticated": "completed", "revocation": "skipped"}
    assert any(seen.get("X-Api-Key") == key for seen in behaviour.seen)  # the credential went
    assert key not in result.stdout and key not in result.stderr
