"""Certificates for the TLS lab: CAs, intermediates and leaves with chosen flaws.

Each builder returns an :class:`Issued` (certificate + key). Flaws are parameters: a validity
window in the past (expired), a name that does not match (wrong host), a self-signed leaf, a small
RSA key, a SHA-1 signature (through the ``openssl x509`` CLI, because ``cryptography`` refuses to
sign with SHA-1), an intermediate left out of the served chain (incomplete chain).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess  # nosec B404: runs the local openssl CLI with fixed arguments
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from keywire.lab.certs import key_usage, lab_name

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ONE_DAY = datetime.timedelta(days=1)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def new_key(kind: str = "ec", size: int = 256) -> PrivateKey:
    """An RSA key of ``size`` bits or an EC key on the P-``size`` curve."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    curve: ec.EllipticCurve = {
        192: ec.SECP192R1(),
        224: ec.SECP224R1(),
        256: ec.SECP256R1(),
        384: ec.SECP384R1(),
    }[size]
    return ec.generate_private_key(curve)


def make_ca(
    name: str = "keywire lab root",
    *,
    parent: Issued | None = None,
    key: PrivateKey | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Issued:
    """A root CA (self-signed) or, with ``parent``, an intermediate CA."""
    key = key or new_key()
    start = not_before or now() - ONE_DAY
    end = not_after or now() + 3650 * ONE_DAY
    issuer_name = parent.cert.subject if parent else lab_name(name)
    signer = parent.key if parent else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(lab_name(name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if parent is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
            critical=False,
        )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def _sans(names: Sequence[str], ips: Sequence[str]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    general += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return x509.SubjectAlternativeName(general)


def make_leaf(
    issuer: Issued | None,
    *,
    names: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1",),
    key: PrivateKey | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    ca_issuers_url: str | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
    must_staple: bool = False,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    san: bool = True,
    serial: int | None = None,
) -> Issued:
    """A server certificate for ``names``/``ips``; ``issuer=None`` makes it self-signed.

    ``ca_issuers_url`` adds an Authority Information Access entry naming where the issuer's
    certificate can be fetched, as publicly trusted leaves carry; ``ocsp_url`` one naming its
    OCSP responder, and ``crl_url`` a CRL distribution point. ``must_staple`` adds the TLS
    feature extension (status_request). ``eku=None`` leaves the extended key usage out,
    ``san=False`` the subjectAltName (the names then live in the common name only).
    """
    key = key or new_key()
    start = not_before or now() - ONE_DAY
    end = not_after or now() + 90 * ONE_DAY
    subject = lab_name(names[0] if names else ips[0])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if san:
        builder = builder.add_extension(_sans(names, ips), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    access = [
        x509.AccessDescription(method, x509.UniformResourceIdentifier(url))
        for method, url in (
            (AuthorityInformationAccessOID.OCSP, ocsp_url),
            (AuthorityInformationAccessOID.CA_ISSUERS, ca_issuers_url),
        )
        if url is not None
    ]
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if crl_url is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if must_staple:
        builder = builder.add_extension(
            x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False
        )
    signer = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
    )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def sign_with_openssl(
    issuer: Issued,
    *,
    digest: str = "sha1",
    names: Sequence[str] = ("localhost",),
    ips: Sequence[str] = ("127.0.0.1",),
    key: PrivateKey | None = None,
    days: int = 90,
) -> Issued:
    """A leaf signed by ``issuer`` with ``digest`` (e.g. sha1), made by the openssl CLI."""
    key = key or new_key("rsa", 2048)
    with tempfile.TemporaryDirectory(prefix="keywire-pki-") as tmp:
        root = Path(tmp)
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(lab_name(names[0] if names else ips[0]))
            .sign(key, hashes.SHA256())
        )
        (root / "req.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (root / "ca.pem").write_bytes(issuer.cert_pem())
        (root / "ca.key").write_bytes(issuer.key_pem())
        alt = ",".join([f"DNS:{n}" for n in names] + [f"IP:{ip}" for ip in ips])
        (root / "ext.cnf").write_text(
            f"subjectAltName={alt}\nbasicConstraints=critical,CA:FALSE\n"
            "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n"
            "subjectKeyIdentifier=hash\n",
            encoding="ascii",
        )
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the openssl command is needed to sign with SHA-1")
        subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [
                openssl,
                "x509",
                "-req",
                "-in",
                str(root / "req.pem"),
                "-CA",
                str(root / "ca.pem"),
                "-CAkey",
                str(root / "ca.key"),
                "-CAcreateserial",
                f"-{digest}",
                "-days",
                str(days),
                "-extfile",
                str(root / "ext.cnf"),
                "-out",
                str(root / "leaf.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        cert = x509.load_pem_x509_certificate((root / "leaf.pem").read_bytes())
    return Issued(cert, key)


def write_chain(directory: Path, stem: str, leaf: Issued, *chain: Issued) -> tuple[Path, Path]:
    """Write ``leaf`` and the ``chain`` certificates it should be served with; return (cert, key)."""
    cert_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    cert_file.write_bytes(leaf.cert_pem() + b"".join(c.cert_pem() for c in chain))
    key_file.write_bytes(leaf.key_pem())
    key_file.chmod(0o600)
    return cert_file, key_file
