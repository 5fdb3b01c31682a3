"""A throwaway certificate authority for the lab's HTTPS servers.

``keywire demo`` and the tests need HTTPS on loopback with certificates that pass strict RFC 5280
validation: a CA and an EC P-256 leaf for localhost/127.0.0.1/::1, valid for 90 days (so that no
expiry warning, KW620, shows in a scan of the lab), built with the
TLS lab's certificate builders (:mod:`keywire.lab.tlspki`) in a directory the caller removes.
"""

from __future__ import annotations

import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .tlspki import ONE_DAY, make_ca, make_leaf, now, write_chain


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
