"""A throwaway certificate authority for the demo's HTTPS servers.

``keywire demo`` (and the tests, through the same function) needs HTTPS on loopback with
certificates that pass strict RFC 5280 validation: a CA and an EC P-256 leaf for
localhost/127.0.0.1/::1, valid for 90 days (so that no expiry warning, KW620, shows in a scan of
the lab), written to a directory the caller removes. The TLS lab's general certificate factory
(chains, odd keys and signatures) is the repository's ``labs/tlspki.py``, not shipped.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .._dataclass import dataclass

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class LabPki:
    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_lab_pki(directory: str | None = None) -> LabPki:
    """Create a CA and a server certificate for localhost/127.0.0.1/::1 (valid for 90 days)."""
    root = Path(directory or tempfile.mkdtemp(prefix="keywire-lab-"))
    start, end = now() - ONE_DAY / 288, now() + 90 * ONE_DAY
    ca = make_ca("keywire lab CA", not_before=start, not_after=end)
    leaf = make_leaf(
        ca, names=("localhost",), ips=("127.0.0.1", "::1"), not_before=start, not_after=end
    )
    ca_file = root / "ca.pem"
    ca_file.write_bytes(ca.cert_pem())
    cert_file, key_file = write_chain(root, "server", leaf)
    return LabPki(directory=root, ca_file=ca_file, cert_file=cert_file, key_file=key_file)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class _Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def lab_name(common_name: str) -> x509.Name:
    """A lab certificate's subject (organisation "keywire lab"); the test labs share it."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "keywire lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage(*, ca: bool) -> x509.KeyUsage:
    """The key usage of a lab CA (``ca``) or server certificate; the test labs share it."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(name: str, *, not_before: datetime.datetime, not_after: datetime.datetime) -> _Issued:
    """A self-signed root CA with an EC P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(lab_name(name))
        .issuer_name(lab_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _Issued(builder.sign(key, hashes.SHA256()), key)


def make_leaf(
    issuer: _Issued,
    *,
    names: Sequence[str],
    ips: Sequence[str],
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> _Issued:
    """A server certificate for ``names`` and ``ips``, signed by ``issuer``."""
    key = ec.generate_private_key(ec.SECP256R1())
    general: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    general += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    builder = (
        x509.CertificateBuilder()
        .subject_name(lab_name(names[0] if names else ips[0]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(general), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    return _Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def write_chain(directory: Path, stem: str, leaf: _Issued) -> tuple[Path, Path]:
    """Write ``leaf``'s certificate and key; return their paths (the key readable by us only)."""
    cert_file = directory / f"{stem}.pem"
    key_file = directory / f"{stem}.key"
    cert_file.write_bytes(leaf.cert_pem())
    key_file.write_bytes(
        leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file
