"""Cipher suites with their attributes, derived from the IANA names in :mod:`._suite_table`.

>>> s = by_code(0xC02F)
>>> s.name, s.kex, s.auth, s.cipher, s.bits, s.mac, s.forward_secret, s.aead
('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE', 'RSA', 'AES_128_GCM', 128, 'AEAD', True, True)
"""

from __future__ import annotations

import functools
import re

from .._dataclass import dataclass
from ._suite_table import SSL2_CIPHERS, TLS13_CODES, TLS_SUITES

# cipher text pattern -> (canonical cipher, effective bits, aead); first match wins.
_CIPHERS: tuple[tuple[str, str, int, bool], ...] = (
    (r"CHACHA20_POLY1305", "CHACHA20_POLY1305", 256, True),
    (r"(AES|ARIA|CAMELLIA)_(128|256)_GCM", r"\1_\2_GCM", 0, True),
    (r"AES_(128|256)_CCM_8", r"AES_\1_CCM_8", 0, True),
    (r"AES_(128|256)_CCM", r"AES_\1_CCM", 0, True),
    (r"SM4_(GCM|CCM)", r"SM4_\1", 128, True),
    (r"AEGIS_(256|128L)", r"AEGIS_\1", 0, True),
    (r"(KUZNYECHIK|MAGMA)_MGM", r"\1_MGM", 256, True),
    (r"(KUZNYECHIK|MAGMA)_CTR", r"\1_CTR", 256, False),
    (r"28147_CNT", "GOST28147_CNT", 256, False),
    (r"(AES|ARIA|CAMELLIA)_(128|256)_CBC", r"\1_\2_CBC", 0, False),
    (r"SEED_CBC", "SEED_CBC", 128, False),
    (r"IDEA_CBC", "IDEA_CBC", 128, False),
    (r"3DES_EDE_CBC", "3DES_EDE_CBC", 112, False),
    (r"DES40_CBC|DES_CBC_40", "DES40_CBC", 40, False),
    (r"DES_CBC", "DES_CBC", 56, False),
    (r"RC2_CBC_40", "RC2_CBC_40", 40, False),
    (r"RC2_(CBC_)?56", "RC2_CBC_56", 56, False),
    (r"RC4_40", "RC4_40", 40, False),
    (r"RC4_56", "RC4_56", 56, False),
    (r"RC4_128", "RC4_128", 128, False),
    (r"FORTEZZA_CBC", "FORTEZZA_CBC", 80, False),
    (r"NULL|^SHA(256|384)_SHA", "NULL", 0, False),
)

_COMPILED = tuple((re.compile(p), c, b, a) for p, c, b, a in _CIPHERS)

# key-exchange text (export markers removed) -> (kex, auth)
_KEX: dict[str, tuple[str, str]] = {
    "RSA": ("RSA", "RSA"),
    "RSA_FIPS": ("RSA", "RSA"),
    "DH_DSS": ("DH", "DSS"),
    "DH_RSA": ("DH", "RSA"),
    "DHE_DSS": ("DHE", "DSS"),
    "DHE_RSA": ("DHE", "RSA"),
    "DH_anon": ("DHE", "anon"),
    "KRB5": ("KRB5", "KRB5"),
    "PSK": ("PSK", "PSK"),
    "DHE_PSK": ("DHE", "PSK"),
    "PSK_DHE": ("DHE", "PSK"),
    "RSA_PSK": ("RSA", "PSK"),
    "ECDHE_PSK": ("ECDHE", "PSK"),
    "ECDH_ECDSA": ("ECDH", "ECDSA"),
    "ECDHE_ECDSA": ("ECDHE", "ECDSA"),
    "ECDH_RSA": ("ECDH", "RSA"),
    "ECDHE_RSA": ("ECDHE", "RSA"),
    "ECDH_anon": ("ECDHE", "anon"),
    "SRP_SHA": ("SRP", "SRP"),
    "SRP_SHA_RSA": ("SRP", "RSA"),
    "SRP_SHA_DSS": ("SRP", "DSS"),
    "ECCPWD": ("ECCPWD", "ECCPWD"),
    "GOSTR341094": ("GOST", "GOST"),
    "GOSTR341001": ("GOST", "GOST"),
    "GOSTR341112_256": ("GOST", "GOST"),
    "GOSTR341094_RSA": ("RSA", "RSA"),
    "FORTEZZA_KEA": ("FORTEZZA", "FORTEZZA"),
    "CECPQ1_RSA": ("CECPQ1", "RSA"),
    "CECPQ1_ECDSA": ("CECPQ1", "ECDSA"),
}
_EPHEMERAL = frozenset({"DHE", "ECDHE", "ECCPWD", "CECPQ1", "ANY"})


@dataclass(frozen=True, kw_only=True)
class CipherSuite:
    """One TLS cipher suite. ``bits`` is the effective symmetric strength (3DES: 112)."""

    code: int
    name: str
    kex: str
    auth: str
    cipher: str
    bits: int
    mac: str
    export: bool = False
    tls13: bool = False

    @property
    def forward_secret(self) -> bool:
        return self.kex in _EPHEMERAL

    @property
    def aead(self) -> bool:
        return self.mac == "AEAD"

    @property
    def null(self) -> bool:
        return self.cipher == "NULL"

    @property
    def anonymous(self) -> bool:
        return self.auth == "anon"

    @property
    def rc4(self) -> bool:
        return self.cipher.startswith("RC4")

    @property
    def single_des(self) -> bool:
        """Single DES, RC2 and other ciphers of at most 64 key bits that are not EXPORT."""
        return not self.export and not self.null and self.bits <= 64

    @property
    def block64(self) -> bool:
        """A cipher with 64-bit blocks (3DES, IDEA, DES, RC2): Sweet32."""
        return self.cipher.split("_")[0] in ("3DES", "IDEA", "DES", "DES40", "RC2")

    @property
    def cbc(self) -> bool:
        return "CBC" in self.cipher

    @property
    def tls12_only(self) -> bool:
        """Defined for TLS 1.2 only (SHA-2 MACs, AEAD, the 2012 GOST suites)."""
        if self.tls13:
            return False
        return self.aead or self.mac in ("SHA256", "SHA384", "OMAC") or "ARIA" in self.cipher

    @property
    def weak(self) -> bool:
        """Something keywire reports by itself: NULL, anonymous, EXPORT, RC4, DES/3DES-class."""
        return (
            self.null
            or self.anonymous
            or self.export
            or self.rc4
            or self.single_des
            or self.block64
        )

    @functools.cached_property  # sorted by, for every version's offers
    def strength(self) -> int:
        """Rank for ordering offers and comparing preferences: higher is better."""
        if self.weak:
            return 0 if (self.null or self.anonymous or self.export) else 1
        return 2 + int(self.forward_secret) * 2 + int(self.aead) * 3 + int(self.tls13)


@functools.cache  # the ~375 suites share about a hundred cipher texts
def _cipher_of(cipher_text: str) -> tuple[str, int, bool]:
    """The canonical cipher, its effective bits and whether it is an AEAD."""
    for pattern, canonical, fixed_bits, is_aead in _COMPILED:
        match = pattern.search(cipher_text)
        if match:
            cipher = match.expand(canonical) if "\\" in canonical else canonical
            digits = re.search(r"(128|256)", cipher)
            return cipher, fixed_bits or (int(digits.group(1)) if digits else 0), is_aead
    return "UNKNOWN", 0, False


def _derive(code: int, name: str) -> CipherSuite:
    body = name.removeprefix("TLS_") if name.startswith("TLS_") else name.removeprefix("SSL_")
    body = body.removesuffix("_OLD") if body.endswith("_OLD") else body.removesuffix("_2")
    tls13 = code in TLS13_CODES
    if "_WITH_" in body:
        kex_text, _, cipher_text = body.partition("_WITH_")
    else:
        kex_text, cipher_text = "", body
    export = "EXPORT" in kex_text or "EXPORT" in cipher_text
    kex_key = re.sub(r"_EXPORT(1024)?", "", kex_text)
    if tls13:
        kex, auth = "ANY", "ANY"
    else:
        kex, auth = _KEX[kex_key]
    cipher, bits, aead = _cipher_of(cipher_text)
    if export and cipher.startswith("RC4") and bits > 56:
        bits = 40
    last = cipher_text.rsplit("_", 1)[-1]
    if aead:
        mac = "AEAD"
    elif cipher_text.startswith("SHA"):
        mac = cipher_text.split("_")[0]
    elif last in ("MD5", "SHA", "SHA256", "SHA384"):
        mac = last
    elif "GOST" in kex or last in ("IMIT", "OMAC", "GOSTR3411", "GOST94"):
        mac = {"IMIT": "GOST28147", "OMAC": "OMAC"}.get(last, "GOSTR3411")
    else:
        mac = last
    return CipherSuite(
        code=code,
        name=name,
        kex=kex,
        auth=auth,
        cipher=cipher,
        bits=bits,
        mac=mac,
        export=export,
        tls13=tls13,
    )


@dataclass(frozen=True, kw_only=True)
class Ssl2Cipher:
    """An SSL 2.0 cipher kind (three bytes on the wire)."""

    code: int
    name: str
    bits: int
    export: bool


def _ssl2(code: int, name: str) -> Ssl2Cipher:
    export = "EXPORT" in name
    if "NULL" in name:
        bits = 0
    elif export:
        bits = 40
    elif "RC4_64" in name or "DES_64" in name:
        bits = 56
    elif "EDE3" in name:
        bits = 112
    else:
        bits = 128
    return Ssl2Cipher(code=code, name=name, bits=bits, export=export)


ALL: tuple[CipherSuite, ...] = tuple(_derive(code, name) for code, name in TLS_SUITES)
_BY_CODE: dict[int, CipherSuite] = {s.code: s for s in ALL}
SSL2: tuple[Ssl2Cipher, ...] = tuple(_ssl2(code, name) for code, name in SSL2_CIPHERS)
_SSL2_BY_CODE: dict[int, Ssl2Cipher] = {c.code: c for c in SSL2}


def by_code(code: int) -> CipherSuite:
    """The suite with ``code``; a code missing from the registry gets a placeholder."""
    suite = _BY_CODE.get(code)
    if suite is None:
        return CipherSuite(
            code=code,
            name=f"UNKNOWN_0x{code:04X}",
            kex="UNKNOWN",
            auth="UNKNOWN",
            cipher="UNKNOWN",
            bits=0,
            mac="UNKNOWN",
        )
    return suite


def ssl2_by_code(code: int) -> Ssl2Cipher:
    cipher = _SSL2_BY_CODE.get(code)
    if cipher is None:
        return Ssl2Cipher(code=code, name=f"SSL_CK_UNKNOWN_0x{code:06X}", bits=0, export=False)
    return cipher


@functools.lru_cache(maxsize=8)
def for_version(version: int) -> tuple[CipherSuite, ...]:
    """The suites worth offering at protocol ``version``, strongest first."""
    if version >= 0x0304:
        chosen = [s for s in ALL if s.tls13]
    elif version == 0x0303:
        chosen = [s for s in ALL if not s.tls13]
    else:
        chosen = [s for s in ALL if not s.tls13 and not s.tls12_only]
    return tuple(sorted(chosen, key=lambda s: (-s.strength, s.code)))
