"""``flask keywire serve-dev``: HTTPS on loopback for development, with a throwaway local CA.

flask_keywire refuses cleartext (and revokes keys sent over it), so ``flask run`` on http:// is
no way to try an API. This serves the application with :func:`flask_keywire.server_context` and a
certificate for ``127.0.0.1``, ``::1`` and ``localhost`` signed by a CA made for the purpose:

* the files live in the instance folder, ``keywire-dev/`` (``ca.pem``, ``cert.pem``,
  ``key.pem``), and are reused while the certificate is valid (30 days), so ``--cacert`` keeps
  pointing at the same file;
* the CA's private key is never written: once the server certificate is signed, the CA cannot
  sign anything else, so trusting ``ca.pem`` trusts this one certificate only.

``cryptography`` (a dependency of the keywire distribution) is imported here only, when the
command runs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

LOOPBACK = ("127.0.0.1", "::1", "localhost")
VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True, kw_only=True)
class DevCertificate:
    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path


def dev_certificate(directory: Path) -> DevCertificate:
    """The development CA and server certificate in ``directory``, made if missing or expiring."""
    files = DevCertificate(
        directory=directory,
        ca_file=directory / "ca.pem",
        cert_file=directory / "cert.pem",
        key_file=directory / "key.pem",
    )
    if not _still_valid(files):
        _make(files)
    return files


def _still_valid(files: DevCertificate) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        files.ca_file.read_bytes()
        files.key_file.read_bytes()
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - dt.timedelta(days=1) > dt.datetime.now(dt.timezone.utc)


def _make(files: DevCertificate) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    start, end = now - dt.timedelta(minutes=5), now + VALIDITY
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "flask_keywire development CA (throwaway)")]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "::1")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    del ca_key  # never written: the CA signs this certificate and nothing else
    files.directory.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(files.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))


def serve(app: Any, *, host: str, port: int) -> None:
    """Serve ``app`` over HTTPS on ``host:port`` (loopback only) until interrupted."""
    from werkzeug.serving import run_simple

    from .tls import server_context

    if host not in LOOPBACK:
        raise click.UsageError(
            f"serve-dev listens on loopback only ({', '.join(LOOPBACK)}), not {host!r}: "
            "it is for development. In production, serve HTTPS with a real certificate "
            "(gunicorn --certfile/--keyfile with flask_keywire.server_context settings, or a proxy)"
        )
    files = dev_certificate(Path(app.instance_path) / "keywire-dev")
    shown = f"[{host}]" if ":" in host else host
    click.echo(f" * flask_keywire development server: https://{shown}:{port}", err=True)
    click.echo(f" * CA certificate: {files.ca_file}", err=True)
    click.echo(
        f"   try: curl --cacert {files.ca_file} -H 'Authorization: Bearer <key>' "
        f"https://{shown}:{port}/...",
        err=True,
    )
    click.echo(
        " * Send keys over https:// only: a key sent over http:// is revoked.",
        err=True,
    )
    run_simple(
        host,
        port,
        app,
        ssl_context=server_context(files.cert_file, files.key_file),
        threaded=True,
        use_reloader=False,
        use_debugger=False,
    )
