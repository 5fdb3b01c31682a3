"""The trust store: certifi's roots, the system's default CA file and ``--ca-file``, indexed by subject.

Built once per process and CA file (:func:`load_trust_store`): the bundles are split into PEM
blocks, deduplicated as text (the same root in two bundles is the same base64), parsed once, and
indexed by the DER of their subjects as the certificates encode them.
"""

from __future__ import annotations

import contextlib
import functools
import re
import ssl
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from .._certifi import certifi_bundle
from .certfacts import SGC_NAMES as SGC_NAMES
from .certfacts import CertInfo as CertInfo
from .certfacts import ChainAnalysis as ChainAnalysis


class TrustStore:
    """Root certificates, indexed by subject; built once per set of sources.

    ``roots`` are distinct certificates (the sources overlap: certifi's roots are in most
    system bundles too). A root's key is read only when a certificate with its subject asks
    whether it is an anchor: building the store costs one parse of each distinct root.
    """

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self.roots = tuple(roots)
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for cert in self.roots:
            self._by_subject.setdefault(_raw_names(cert)[1], []).append(cert)

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        return self._by_subject.get(_raw_names(cert)[0], [])

    def anchors(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` is a trust anchor (same subject and key as a root)."""
        same_subject = self._by_subject.get(_raw_names(cert)[1])
        if not same_subject:
            return False
        key = _spki(cert)
        return any(_spki(root) == key for root in same_subject)

    @functools.cached_property
    def verifier_store(self) -> Any:
        from cryptography.x509.verification import Store

        return Store(list(self.roots))


def _raw_names(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """The DER of the issuer's and the subject's names, as the certificate encodes them.

    Read from the to-be-signed bytes (issuer and subject are its 3rd and 5th fields after an
    optional version): names are matched byte for byte, as issuers are chained, and no name
    object is built for each of a store's roots. A TBS this cannot walk falls back to the names
    ``cryptography`` re-encodes.
    """
    try:
        tbs = cert.tbs_certificate_bytes
        _, position, end = _tlv(tbs, 0)
        fields: list[tuple[int, bytes]] = []
        while position < end and len(fields) < 6:
            tag, _, after = _tlv(tbs, position)
            fields.append((tag, tbs[position:after]))
            position = after
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        if len(fields) >= 5 and fields[2][0] == fields[4][0] == 0x30:
            return fields[2][1], fields[4][1]
    except (ValueError, IndexError):
        pass
    return cert.issuer.public_bytes(), cert.subject.public_bytes()


def _tlv(der: bytes, position: int) -> tuple[int, int, int]:
    """The tag at ``position``, where its value starts and where it ends."""
    tag, length = der[position], der[position + 1]
    start = position + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    if start + length > len(der):
        raise ValueError("DER value past the end")
    return tag, start, start + length


def _spki(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import PublicFormat

    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


# A block's body is base64 (never a "-"): a bundle of 500 KB splits in well under a millisecond,
# and a block missing its END line does not swallow the next one.
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[^-]+-----END CERTIFICATE-----\r?\n?")


def _pem_blocks(path: str) -> list[bytes]:
    """The certificate blocks of a PEM file, as written (nothing if it cannot be read)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return []
    return [block if block.endswith(b"\n") else block + b"\n" for block in _PEM_BLOCK.findall(data)]


def _load_pem_blocks(blocks: Sequence[bytes]) -> list[x509.Certificate]:
    data = b"".join(blocks)
    if not data:
        return []
    try:
        with warnings.catch_warnings():
            # Some distributions still ship roots with negative serial numbers.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_pem_x509_certificates(data)
    except ValueError:
        found = []
        for block in blocks:  # one that does not parse costs only itself
            with contextlib.suppress(ValueError), warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                found.append(x509.load_pem_x509_certificate(block))
        return found


def _load_pem_file(path: str) -> list[x509.Certificate]:
    return _load_pem_blocks(_pem_blocks(path))


@functools.lru_cache(maxsize=4)
def load_trust_store(ca_file: str | None = None) -> TrustStore:
    """certifi's roots, the system's default CA file and ``ca_file``, deduplicated."""
    blocks = _pem_blocks(certifi_bundle())
    system = ssl.get_default_verify_paths().cafile
    if system:
        blocks += _pem_blocks(system)
    if ca_file:
        blocks += _pem_blocks(ca_file)
    # The same root in two bundles is the same text (base64 of the same DER, in 64-character
    # lines): drop repeats before parsing, not after.
    distinct = dict.fromkeys(b"".join(block.split()) for block in blocks)
    unique = [_rewrap(block) for block in distinct]
    return TrustStore(_load_pem_blocks(unique))


def _rewrap(joined: bytes) -> bytes:
    """A PEM block from its whitespace-free form."""
    body = joined.removeprefix(b"-----BEGINCERTIFICATE-----").removesuffix(
        b"-----ENDCERTIFICATE-----"
    )
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([b"-----BEGIN CERTIFICATE-----", *lines, b"-----END CERTIFICATE-----", b""])
