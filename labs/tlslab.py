"""The TLS lab: a PKI with chosen flaws and Python ``ssl`` server profiles built on it.

Each :class:`SslProfile` names the rule IDs a scan of it must report (``expect``); most have a
near-miss twin that must report nothing. Tests and ``bench/tls_bench.py`` start them with
:meth:`TlsLab.start`. Everything listens on loopback only.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess  # nosec B404: the local openssl CLI, fixed arguments
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from labs._dhgroups import dh_pem, lab_group
from labs.tlspki import (
    ONE_DAY,
    Issued,
    make_ca,
    make_leaf,
    new_key,
    now,
    sign_with_openssl,
    write_chain,
)

from .tlsserver import SslLabServer, server_context

STRONG = "ECDHE+AESGCM:ECDHE+CHACHA20"
#: SSL_OP_ALLOW_CLIENT_RENEGOTIATION (OpenSSL 3; Python's ssl module has no name for it).
ALLOW_CLIENT_RENEGOTIATION = 0x100
DHE_FIRST = "DHE+AESGCM:ECDHE+AESGCM"
#: Loopback addresses the lab's certificates are valid for (the bench gives each target its own).
LAB_ADDRESSES = tuple(f"127.0.0.{i}" for i in range(1, 41))


@dataclass(frozen=True, kw_only=True)
class SslProfile:
    """One server configuration of the lab and the rule IDs keywire must report for it."""

    name: str
    expect: frozenset[str] = frozenset()
    ciphers: str | None = STRONG
    min_version: str = "TLSv1.2"
    max_version: str | None = None
    leaf: str = "good"
    chain: tuple[str, ...] = ()
    dh: str | None = None
    server_preference: bool = True
    host: str = "localhost"
    near_miss: str = ""
    #: Extra ``SSLContext.options`` bits (e.g. SSL_OP_ALLOW_CLIENT_RENEGOTIATION).
    options: int = 0


def _profile(name: str, expect: Sequence[str] = (), **kw: object) -> SslProfile:
    return SslProfile(name=name, expect=frozenset(expect), **kw)  # type: ignore[arg-type]


#: The Python ``ssl`` profiles. Each one with findings names its ``near_miss``: a profile as
#: close to it as the lab allows that must produce no finding at all.
SSL_PROFILES: tuple[SslProfile, ...] = (
    _profile("modern"),
    _profile("tls13-only", min_version="TLSv1.3"),
    _profile(
        "tls13-only-wrong-host",
        ["KW605"],
        min_version="TLSv1.3",
        leaf="wrong-host",
        near_miss="tls13-only",
    ),
    _profile(
        "legacy-tls10",
        ["KW403", "KW404", "KW406", "KW416"],
        ciphers="ECDHE+AESGCM:ECDHE+AES@SECLEVEL=0",
        min_version="TLSv1",
        max_version="TLSv1.2",
        near_miss="modern",
    ),
    _profile(
        "tls11-only",
        ["KW404", "KW405", "KW419"],
        ciphers="ECDHE+AES@SECLEVEL=0",
        min_version="TLSv1.1",
        max_version="TLSv1.1",
        near_miss="modern",
    ),
    _profile(
        "null", ["KW410"], ciphers=f"{STRONG}:ECDHE-ECDSA-NULL-SHA@SECLEVEL=0", near_miss="modern"
    ),
    _profile(
        "anon",
        ["KW411"],
        ciphers=f"{STRONG}:AECDH-AES128-SHA:ADH-AES128-GCM-SHA256@SECLEVEL=0",
        dh="2048",
        near_miss="modern",
    ),
    _profile(
        "dhe-1024",
        ["KW421"],
        ciphers="DHE+AESGCM:ECDHE+AESGCM@SECLEVEL=1",
        leaf="rsa-2048",
        dh="1024",
        near_miss="dhe-2048",
    ),
    _profile("dhe-2048", ciphers="ECDHE+AESGCM:DHE+AESGCM", leaf="rsa-2048", dh="2048"),
    _profile(
        "rsa-1024",
        ["KW609"],
        ciphers="ECDHE+AESGCM@SECLEVEL=1",
        leaf="rsa-1024",
        near_miss="rsa-2048",
    ),
    _profile("rsa-2048", leaf="rsa-2048"),
    _profile(
        "static-rsa",
        ["KW418"],
        ciphers=f"{STRONG}:AES128-GCM-SHA256",
        leaf="rsa-2048",
        near_miss="rsa-2048",
    ),
    _profile(
        "no-forward-secrecy",
        ["KW406", "KW417"],
        ciphers="AES128-GCM-SHA256:AES256-GCM-SHA384",
        max_version="TLSv1.2",
        leaf="rsa-2048",
        near_miss="rsa-2048",
    ),
    _profile(
        "no-aead",
        ["KW406", "KW419"],
        ciphers="ECDHE-ECDSA-AES128-SHA",
        max_version="TLSv1.2",
        near_miss="modern",
    ),
    _profile(
        "prefers-cbc",
        ["KW420"],
        ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256",
        near_miss="client-order",
    ),
    _profile(
        "client-order",
        ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256",
        server_preference=False,
    ),
    _profile(
        "sha1-signed",
        ["KW608"],
        ciphers=f"{STRONG}@SECLEVEL=0",
        leaf="sha1",
        near_miss="sha256-signed",
    ),
    _profile("sha256-signed", leaf="sha256-cli"),
    _profile(
        "md5-signed",
        ["KW607"],
        ciphers=f"{STRONG}@SECLEVEL=0",
        leaf="md5",
        near_miss="sha256-signed",
    ),
    _profile("expired", ["KW601"], leaf="expired", near_miss="expires-in-40-days"),
    _profile("expires-soon", ["KW620"], leaf="expires-soon", near_miss="expires-in-40-days"),
    _profile("expires-in-20-days", ["KW620"], leaf="expires-20", near_miss="expires-in-40-days"),
    _profile("expires-in-40-days", leaf="expires-40"),
    _profile(
        "outlives-issuer",
        ["KW621"],
        leaf="outlives-issuer",
        chain=("short-intermediate",),
        near_miss="within-issuer",
    ),
    _profile("within-issuer", leaf="within-issuer", chain=("short-intermediate",)),
    _profile("eku-client-only", ["KW622"], leaf="eku-client", near_miss="modern"),
    _profile("no-eku", ["KW623"], leaf="no-eku", near_miss="modern"),
    _profile("cn-only", ["KW624"], leaf="cn-only", near_miss="modern"),
    _profile("huge-chain", ["KW625"], leaf="san-10000", near_miss="large-chain"),
    _profile("large-chain", leaf="san-1000"),
    _profile("not-yet-valid", ["KW602"], leaf="not-yet-valid", near_miss="just-valid"),
    _profile("just-valid", leaf="just-valid"),
    _profile("self-signed", ["KW603"], leaf="self-signed", near_miss="self-signed-pinned"),
    _profile("self-signed-pinned", leaf="self-signed-pinned"),
    _profile("wrong-host", ["KW605"], leaf="wrong-host", near_miss="wildcard"),
    _profile("wildcard", leaf="wildcard", host="api.lab.test"),
    _profile("ip-san", leaf="good", host="127.0.0.1"),
    _profile("incomplete-chain", ["KW606"], leaf="by-intermediate", near_miss="full-chain"),
    _profile("full-chain", leaf="by-intermediate", chain=("intermediate",)),
    _profile(
        "untrusted-root",
        ["KW604"],
        leaf="by-other-root",
        chain=("other-root",),
        near_miss="full-chain",
    ),
    _profile("long-lifetime", ["KW612"], leaf="lifetime-400", near_miss="max-lifetime"),
    _profile("max-lifetime", leaf="lifetime-397"),
    _profile("ec-p224", ["KW406", "KW611"], leaf="p224", max_version="TLSv1.2", near_miss="modern"),
    _profile(
        "client-renegotiation",
        ["KW426"],
        options=ALLOW_CLIENT_RENEGOTIATION,
        near_miss="modern",
    ),
    _profile(
        "dh-composite",
        ["KW434"],
        ciphers=DHE_FIRST,
        leaf="rsa-2048",
        dh="composite-2048",
        near_miss="dh-safe-prime",
    ),
    _profile(
        "dh-small-subgroup",
        ["KW435"],
        ciphers=DHE_FIRST,
        leaf="rsa-2048",
        dh="small-subgroup-2048",
        near_miss="dh-safe-prime",
    ),
    _profile(
        "dh-dsa-style",
        ["KW436"],
        ciphers=DHE_FIRST,
        leaf="rsa-2048",
        dh="dsa-style-2048",
        near_miss="dh-safe-prime",
    ),
    _profile("dh-safe-prime", ciphers=DHE_FIRST, leaf="rsa-2048", dh="safe-2048"),
)


def profile(name: str) -> SslProfile:
    for item in SSL_PROFILES:
        if item.name == name:
            return item
    raise KeyError(name)


@dataclass
class LabPki:
    """The lab's CAs and leaves, written to ``directory``."""

    directory: Path
    root: Issued
    intermediate: Issued
    other_root: Issued
    rsa_root: Issued
    short_intermediate: Issued
    leaves: dict[str, Issued] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        return self.directory / "lab-root.pem"

    def files(self, leaf: str, chain: Sequence[str] = ()) -> tuple[Path, Path]:
        extra = {
            "intermediate": self.intermediate,
            "short-intermediate": self.short_intermediate,
            "other-root": self.other_root,
            "root": self.root,
        }
        stem = "-".join([leaf, *chain])
        return write_chain(self.directory, stem, self.leaves[leaf], *(extra[c] for c in chain))


def build_pki(directory: Path | None = None) -> LabPki:
    """Every CA and leaf the profiles use (a few seconds: RSA keys and the openssl CLI)."""
    root_dir = directory or Path(tempfile.mkdtemp(prefix="keywire-tlslab-"))
    root = make_ca("keywire lab root")
    intermediate = make_ca("keywire lab intermediate", parent=root)
    other = make_ca("keywire untrusted root")
    # ECDSA has no MD5 variant: the MD5-signed leaf needs an RSA issuer.
    rsa_root = make_ca("keywire lab RSA root", key=new_key("rsa", 2048))
    t = now()
    short = make_ca("keywire lab short intermediate", parent=root, not_after=t + 60 * ONE_DAY)
    pki = LabPki(
        directory=root_dir,
        root=root,
        intermediate=intermediate,
        other_root=other,
        rsa_root=rsa_root,
        short_intermediate=short,
    )
    pki.ca_file.write_bytes(root.cert_pem() + rsa_root.cert_pem())
    ips = LAB_ADDRESSES
    names = ("localhost",)
    rsa2048 = new_key("rsa", 2048)
    leaves = {
        "good": make_leaf(root, names=names, ips=ips),
        "rsa-2048": make_leaf(root, names=names, ips=ips, key=rsa2048),
        "rsa-1024": make_leaf(root, names=names, ips=ips, key=new_key("rsa", 1024)),
        "sha1": sign_with_openssl(root, digest="sha1", names=names, ips=ips, key=rsa2048),
        "sha256-cli": sign_with_openssl(root, digest="sha256", names=names, ips=ips, key=rsa2048),
        "md5": sign_with_openssl(rsa_root, digest="md5", names=names, ips=ips, key=rsa2048),
        "expired": make_leaf(
            root, names=names, ips=ips, not_before=t - 400 * ONE_DAY, not_after=t - 10 * ONE_DAY
        ),
        "expires-soon": make_leaf(
            root, names=names, ips=ips, not_before=t - 300 * ONE_DAY, not_after=t + ONE_DAY
        ),
        "expires-20": make_leaf(
            root, names=names, ips=ips, not_before=t - 70 * ONE_DAY, not_after=t + 20 * ONE_DAY
        ),
        "expires-40": make_leaf(
            root, names=names, ips=ips, not_before=t - 50 * ONE_DAY, not_after=t + 40 * ONE_DAY
        ),
        "outlives-issuer": make_leaf(short, names=names, ips=ips, not_after=t + 90 * ONE_DAY),
        "within-issuer": make_leaf(short, names=names, ips=ips, not_after=t + 50 * ONE_DAY),
        "eku-client": make_leaf(root, names=names, ips=ips, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),
        "no-eku": make_leaf(root, names=names, ips=ips, eku=None),
        "cn-only": make_leaf(root, names=names, ips=(), san=False),
        "san-10000": make_leaf(root, names=_many_names(10000), ips=ips),
        "san-1000": make_leaf(root, names=_many_names(1000), ips=ips),
        "not-yet-valid": make_leaf(
            root, names=names, ips=ips, not_before=t + 2 * ONE_DAY, not_after=t + 90 * ONE_DAY
        ),
        "just-valid": make_leaf(
            root,
            names=names,
            ips=ips,
            not_before=t - datetime.timedelta(minutes=5),
            not_after=t + 90 * ONE_DAY,
        ),
        "self-signed": make_leaf(None, names=names, ips=ips),
        "self-signed-pinned": make_leaf(None, names=names, ips=ips),
        "wrong-host": make_leaf(root, names=("other.test",), ips=()),
        "wildcard": make_leaf(root, names=("*.lab.test",), ips=()),
        "by-intermediate": make_leaf(
            intermediate,
            names=names,
            ips=ips,
            ca_issuers_url="http://ca.lab.invalid/intermediate.der",
        ),
        "by-other-root": make_leaf(other, names=names, ips=ips),
        "lifetime-400": make_leaf(
            root, names=names, ips=ips, not_before=t - ONE_DAY, not_after=t + 399 * ONE_DAY
        ),
        "lifetime-397": make_leaf(
            root, names=names, ips=ips, not_before=t - ONE_DAY, not_after=t + 396 * ONE_DAY
        ),
        "p224": make_leaf(root, names=names, ips=ips, key=new_key("ec", 224)),
    }
    pki.leaves.update(leaves)
    # A self-signed certificate the client was told to trust (--ca-file) is not a finding.
    pki.ca_file.write_bytes(
        root.cert_pem() + rsa_root.cert_pem() + leaves["self-signed-pinned"].cert_pem()
    )
    return pki


def _many_names(count: int) -> tuple[str, ...]:
    """``localhost`` and ``count`` more names: 10,000 make a ~470 KB Certificate message."""
    return (
        "localhost",
        *(f"name-{i:05d}.a-rather-longer-label.example.test" for i in range(count)),
    )


def dh_params(directory: Path, bits: str) -> Path:
    """DH parameters: RFC 7919 ffdhe2048 from the openssl CLI, a safe prime of ``bits`` bits
    (RFC 2409's 1024-bit MODP group for "1024"), or a named lab group (``lab_group``:
    "composite-2048", "small-subgroup-2048", "safe-2048", "dsa-style-2048")."""
    path = directory / f"dh{bits}.pem"
    if path.exists():
        return path
    if bits != "2048":
        path.write_bytes(dh_pem(*lab_group(bits)))
        return path
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed for DH parameters")
    args = ["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"]
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [openssl, *args, "-out", str(path)], check=True, capture_output=True, timeout=60
    )
    return path


class TlsLab:
    """Start :data:`SSL_PROFILES` servers on loopback; close them all at the end."""

    def __init__(self, pki: LabPki) -> None:
        self.pki = pki
        self.servers: list[SslLabServer] = []

    def start(self, item: SslProfile, *, address: str = "127.0.0.1") -> SslLabServer:
        cert, key = self.pki.files(item.leaf, item.chain)
        dh = dh_params(self.pki.directory, item.dh) if item.dh else None
        context = server_context(
            cert,
            key,
            ciphers=item.ciphers,
            min_version=item.min_version,
            max_version=item.max_version,
            dh_params=dh,
            server_preference=item.server_preference,
            extra_options=item.options,
        )
        server = SslLabServer(context, host=address)
        self.servers.append(server)
        return server

    def url(self, item: SslProfile, server: SslLabServer) -> str:
        host = item.host if item.host != "127.0.0.1" else server.host
        return f"https://{host}:{server.port}/"

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers.clear()
