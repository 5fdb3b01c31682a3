"""The revocation lab: a CA with a real OCSP responder, a CRL server and stapling TLS servers.

- the **OCSP responder** is ``openssl ocsp -index``: OpenSSL's own responder, reading a CA
  database (``index.txt``) in which some serials are revoked. It has no option to choose its
  listen address and binds every interface, so it runs under the same ``LD_PRELOAD`` shim as
  ``gnutls-serv`` (:mod:`labs.gnutls`), which rewrites its wildcard bind to
  127.0.0.1 (IPv4-mapped, on a dual-stack socket), and is killed if anything listens beyond
  loopback;
- the **CRL** is a DER file signed by the CA, served by a static WSGI app on 127.0.0.1;
- the leaves are issued by an intermediate CA under the lab's root, and every server sends
  that intermediate, as public servers do (testssl.sh queries OCSP only for such chains);
- **stapling** servers are ``openssl s_server -status_file``, which staples a fixed OCSP
  response (made here with ``cryptography``: good, revoked or stale) to every handshake.

:func:`build_revocation_lab` makes the CA, the leaves (each named for what its revocation
sources say) and starts the responder and the CRL server; :meth:`RevocationLab.serve` starts a TLS
server for one :class:`RevocationProfile`. Everything listens on loopback and is stopped by
:meth:`RevocationLab.close`.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import subprocess  # nosec B404: the local openssl CLI, fixed arguments
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from keywire.lab.server import LabServer, LoopbackServerBase
from labs.gnutls import GnutlsUnavailable, _free_port, _is_loopback, _listeners, build_shim
from labs.tlspki import ONE_DAY, Issued, make_ca, make_leaf, now, write_chain
from labs.tlsserver import SslLabServer, server_context

_IPV6_LOOPBACK = "00000000000000000000000001000000"


class LabUnavailable(RuntimeError):
    """The openssl CLI (or the loopback shim's compiler) is missing, or a server did not start."""


@dataclass(frozen=True, kw_only=True)
class RevocationProfile:
    """One TLS server of the revocation lab and the rule IDs a scan of it must report.

    ``staple`` is the OCSP response the server staples ("good", "revoked", "stale") or None;
    ``expect_untested`` marks a server whose revocation status keywire cannot learn (its
    responder is down): the check must say *not tested*, never pass.
    """

    name: str
    leaf: str
    expect: frozenset[str] = frozenset()
    staple: str | None = None
    near_miss: str = ""
    expect_untested: bool = False


def _profile(name: str, leaf: str, expect: Iterable[str] = (), **kw: Any) -> RevocationProfile:
    return RevocationProfile(name=name, leaf=leaf, expect=frozenset(expect), **kw)


REVOCATION_PROFILES: tuple[RevocationProfile, ...] = (
    _profile("ocsp-revoked", "ocsp-revoked", ["KW616"], near_miss="ocsp-good"),
    _profile("ocsp-good", "ocsp-good"),
    _profile("crl-revoked", "crl-revoked", ["KW616"], near_miss="crl-good"),
    _profile("crl-good", "crl-good"),
    _profile("both-revoked", "both-revoked", ["KW616"], near_miss="both-good"),
    _profile("both-good", "both-good"),
    _profile("ocsp-unknown", "ocsp-unknown", ["KW618"], near_miss="ocsp-good"),
    _profile("ocsp-down", "ocsp-down", expect_untested=True, near_miss="ocsp-down-crl-good"),
    _profile("ocsp-down-crl-good", "ocsp-down-crl-good"),
    _profile(
        "stapled-revoked", "staple-only", ["KW616"], staple="revoked", near_miss="stapled-good"
    ),
    _profile("stapled-good", "staple-only", staple="good"),
    _profile("stapled-stale", "staple-only", ["KW617"], staple="stale", near_miss="stapled-good"),
    _profile("must-staple-unstapled", "must-staple", ["KW619"], near_miss="must-staple-stapled"),
    _profile("must-staple-stapled", "must-staple", staple="good"),
)


def revocation_profile(name: str) -> RevocationProfile:
    for item in REVOCATION_PROFILES:
        if item.name == name:
            return item
    raise KeyError(name)


def _openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        raise LabUnavailable("the openssl command is needed for the revocation lab")
    return path


class _Process(LoopbackServerBase):
    """A lab process on loopback, killed (its whole process group) on close."""

    def __init__(
        self,
        args: list[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        ready_marker: bytes = b"",
    ):
        super().__init__()
        self.port = port
        self.program = Path(args[0]).name
        self._ready_marker = ready_marker
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            args,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.address = self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                output = self._log.read(2000).decode(errors="replace").strip()
                raise LabUnavailable(f"{self.program} exited: {output[:300]}")
            listening = _listeners(self.port)
            if any(not _is_loopback(a) for a in listening):
                raise LabUnavailable("a lab process listened beyond loopback")
            if listening and self._said(self._ready_marker):
                return "[::1]" if listening[0] == _IPV6_LOOPBACK else "127.0.0.1"
            time.sleep(0.05)
        raise LabUnavailable("a lab process did not start listening within 10s")

    def _said(self, marker: bytes) -> bool:
        if not marker:
            return True
        self._log.seek(0)
        return marker in self._log.read(4000)

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=5)
        self._log.close()


class OcspResponder(_Process):
    """``openssl ocsp`` answering from ``index`` with responses signed by ``ca``, on loopback."""

    def __init__(self, ca_cert: Path, ca_key: Path, index: Path) -> None:
        try:
            shim = build_shim()
        except GnutlsUnavailable as exc:
            raise LabUnavailable(str(exc)) from exc
        port = _free_port("127.0.0.1")
        args = [_openssl(), "ocsp", "-index", str(index), "-port", str(port)]
        args += ["-rsigner", str(ca_cert), "-rkey", str(ca_key), "-CA", str(ca_cert)]
        args += ["-ndays", "1"]
        # It listens before it reads the index, and exits if the index is bad: ready is when
        # it says it waits for requests.
        super().__init__(
            args,
            port=port,
            env={"LD_PRELOAD": str(shim), "KEYWIRE_BIND6_MAPPED": "1"},
            ready_marker=b"waiting for OCSP client connections",
        )

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"


class StaplingServer(_Process):
    """``openssl s_server`` on 127.0.0.1 stapling the OCSP response in ``status_file``."""

    def __init__(
        self, cert: Path, key: Path, status_file: Path | None, chain: Path | None = None
    ) -> None:
        port = _free_port("127.0.0.1")
        args = [_openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert)]
        args += ["-key", str(key), "-www", "-quiet"]
        if chain is not None:
            args += ["-cert_chain", str(chain)]
        if status_file is not None:
            args += ["-status_file", str(status_file)]
        super().__init__(args, port=port)
        self.host = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/"


def _static_app(files: Mapping[str, bytes], seen: list[dict[str, str]]) -> Any:
    """Serve ``files`` by path; record each request's headers in ``seen`` (for the tests)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append({k[5:].lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")})
        body = files.get(environ.get("PATH_INFO", ""))
        if body is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        start_response(
            "200 OK", [("Content-Type", "application/pkix-crl"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


@dataclass
class RevocationLab:
    """The CA, its leaves, the OCSP responder and CRL server, and the TLS servers started."""

    directory: Path
    #: The trust anchor (``ca_file``) and the issuing CA below it, which signs the leaves, the
    #: OCSP responses and the CRL, and which the servers send along with their leaf.
    root: Issued
    ca: Issued
    leaves: dict[str, Issued]
    responder: OcspResponder
    crl_server: LabServer
    #: The headers of every request the CRL server received.
    crl_requests: list[dict[str, str]] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)

    @property
    def ca_file(self) -> Path:
        return self.directory / "revocation-ca.pem"

    def staple(self, leaf: str, kind: str) -> bytes:
        """A DER OCSP response about ``leaf`` signed by the CA: good, revoked or stale."""
        cert = self.leaves[leaf].cert
        t = now()
        status = ocsp.OCSPCertStatus.REVOKED if kind == "revoked" else ocsp.OCSPCertStatus.GOOD
        this_update = t - (10 * ONE_DAY if kind == "stale" else ONE_DAY / 24)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert,
            issuer=self.ca.cert,
            algorithm=hashes.SHA1(),  # noqa: S303 - the certificate ID RFC 5019 prescribes
            cert_status=status,
            this_update=this_update,
            next_update=this_update + 2 * ONE_DAY,
            revocation_time=t - ONE_DAY if kind == "revoked" else None,
            revocation_reason=x509.ReasonFlags.key_compromise if kind == "revoked" else None,
        )
        # The signer's certificate goes along, as OpenSSL's responder sends it: clients (sslyze
        # among them) that verify with a trust store alone need it.
        builder = builder.certificates([self.ca.cert])
        response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca.cert).sign(
            self.ca.key, hashes.SHA256()
        )
        return response.public_bytes(serialization.Encoding.DER)

    def serve(self, item: RevocationProfile) -> Any:
        """Start the TLS server of ``item`` on 127.0.0.1 (closed by :meth:`close`)."""
        cert, key = write_chain(self.directory, item.leaf, self.leaves[item.leaf], self.ca)
        server: Any
        if item.staple is None:
            server = SslLabServer(server_context(cert, key), host="127.0.0.1")
        else:
            status_file = self.directory / f"{item.name}.ocsp.der"
            status_file.write_bytes(self.staple(item.leaf, item.staple))
            chain = self.directory / "issuing-ca.pem"
            chain.write_bytes(self.ca.cert_pem())
            server = StaplingServer(cert, key, status_file, chain)
        self.servers.append(server)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.servers.clear()
        self.responder.close()
        self.crl_server.close()


#: Each leaf: (names an OCSP responder, names a CRL, revoked in the responder's index,
#: revoked in the CRL, must-staple, the responder is a closed port).
_LEAVES: dict[str, tuple[bool, bool, bool, bool, bool, bool]] = {
    "ocsp-revoked": (True, False, True, False, False, False),
    "ocsp-good": (True, False, False, False, False, False),
    "crl-revoked": (False, True, False, True, False, False),
    "crl-good": (False, True, False, False, False, False),
    "both-revoked": (True, True, True, True, False, False),
    "both-good": (True, True, False, False, False, False),
    "ocsp-unknown": (True, False, False, False, False, False),
    "ocsp-down": (True, False, False, False, False, True),
    "ocsp-down-crl-good": (True, True, False, False, False, True),
    "staple-only": (False, False, False, False, False, False),
    "must-staple": (False, False, False, False, True, False),
}


def _index_line(
    serial: int, not_after: datetime.datetime, revoked_at: datetime.datetime | None
) -> str:
    """One line of an OpenSSL CA database (subjects must be unique, hence the serial in it)."""
    expiry = not_after.strftime("%y%m%d%H%M%SZ")
    subject = f"/CN=localhost/serialNumber={serial:X}"
    if revoked_at is None:
        return f"V\t{expiry}\t\t{serial:X}\tunknown\t{subject}\n"
    when = revoked_at.strftime("%y%m%d%H%M%SZ")
    return f"R\t{expiry}\t{when},keyCompromise\t{serial:X}\tunknown\t{subject}\n"


def build_revocation_lab(directory: Path | None = None) -> RevocationLab:
    """The CA and leaves of :data:`REVOCATION_PROFILES`, with the responder and CRL running."""
    root = directory or Path(tempfile.mkdtemp(prefix="keywire-revocation-"))
    anchor = make_ca("keywire revocation lab root")
    ca = make_ca("keywire revocation lab issuing CA", parent=anchor)
    (root / "revocation-ca.pem").write_bytes(anchor.cert_pem())
    ca_cert, ca_key = root / "ca-cert.pem", root / "ca-key.pem"
    ca_cert.write_bytes(ca.cert_pem())
    ca_key.write_bytes(ca.key_pem())
    ca_key.chmod(0o600)
    t = now()
    not_after = t + 60 * ONE_DAY
    revoked_at = t - ONE_DAY
    serials = {name: x509.random_serial_number() for name in _LEAVES}
    index = root / "index.txt"
    index.write_text(
        "".join(
            _index_line(serials[name], not_after, revoked_at if flags[2] else None)
            for name, flags in _LEAVES.items()
            if name != "ocsp-unknown"  # not in the CA's database: the responder says unknown
        ),
        encoding="ascii",
    )
    crl = x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
    crl = crl.last_update(t - ONE_DAY / 24).next_update(t + 7 * ONE_DAY)
    for name, flags in _LEAVES.items():
        if flags[3]:
            crl = crl.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serials[name])
                .revocation_date(revoked_at)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
    crl_der = crl.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    crl_requests: list[dict[str, str]] = []
    crl_server = LabServer(_static_app({"/lab.crl": crl_der}, crl_requests))
    try:
        responder = OcspResponder(ca_cert, ca_key, index)
    except BaseException:
        crl_server.close()
        raise
    closed = f"http://127.0.0.1:{_free_port('127.0.0.1')}/"
    leaves = {}
    for name, (has_ocsp, has_crl, _, _, must_staple, down) in _LEAVES.items():
        leaves[name] = make_leaf(
            ca,
            names=("localhost",),
            ips=("127.0.0.1",),
            serial=serials[name],
            not_after=not_after,
            ocsp_url=(closed if down else responder.url) if has_ocsp else None,
            crl_url=f"{crl_server.url}/lab.crl" if has_crl else None,
            must_staple=must_staple,
        )
    return RevocationLab(
        directory=root,
        root=anchor,
        ca=ca,
        leaves=leaves,
        responder=responder,
        crl_server=crl_server,
        crl_requests=crl_requests,
    )
