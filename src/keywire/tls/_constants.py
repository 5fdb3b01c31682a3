"""Protocol numbers keywire's TLS client speaks: versions, groups, signature schemes, alerts."""

from __future__ import annotations

import enum


class Version(enum.IntEnum):
    """Protocol versions as they appear on the wire."""

    SSL2 = 0x0002
    SSL3 = 0x0300
    TLS10 = 0x0301
    TLS11 = 0x0302
    TLS12 = 0x0303
    TLS13 = 0x0304

    @property
    def label(self) -> str:
        return _VERSION_LABELS[self]


_VERSION_LABELS = {
    Version.SSL2: "SSLv2",
    Version.SSL3: "SSLv3",
    Version.TLS10: "TLSv1.0",
    Version.TLS11: "TLSv1.1",
    Version.TLS12: "TLSv1.2",
    Version.TLS13: "TLSv1.3",
}


# Record content types and handshake message types (RFC 8446 §5.1, §4).
CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
HEARTBEAT = 24

HS_HELLO_REQUEST = 0
HS_CLIENT_HELLO = 1
HS_SERVER_HELLO = 2
HS_NEW_SESSION_TICKET = 4
HS_ENCRYPTED_EXTENSIONS = 8
HS_CERTIFICATE = 11
HS_SERVER_KEY_EXCHANGE = 12
HS_CERTIFICATE_REQUEST = 13
HS_SERVER_HELLO_DONE = 14
HS_CERTIFICATE_VERIFY = 15
HS_FINISHED = 20
HS_CLIENT_KEY_EXCHANGE = 16
HS_CERTIFICATE_STATUS = 22
HS_END_OF_EARLY_DATA = 5
HS_MESSAGE_HASH = 254

# Extension types.
EXT_SERVER_NAME = 0
EXT_STATUS_REQUEST = 5
EXT_SUPPORTED_GROUPS = 10
EXT_EC_POINT_FORMATS = 11
EXT_SIGNATURE_ALGORITHMS = 13
EXT_HEARTBEAT = 15
EXT_ALPN = 16
EXT_PADDING = 21
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_PRE_SHARED_KEY = 41
EXT_EARLY_DATA = 42
EXT_SUPPORTED_VERSIONS = 43
EXT_COOKIE = 44
EXT_PSK_KEY_EXCHANGE_MODES = 45
EXT_KEY_SHARE = 51
EXT_RENEGOTIATION_INFO = 0xFF01

#: RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


class Group(enum.IntEnum):
    """Named groups (RFC 8422, RFC 7919, RFC 8446, draft-ietf-tls-ecdhe-mlkem, GOST, SM2)."""

    SECT163K1 = 1
    SECT163R1 = 2
    SECT163R2 = 3
    SECT193R1 = 4
    SECT193R2 = 5
    SECT233K1 = 6
    SECT233R1 = 7
    SECT239K1 = 8
    SECT283K1 = 9
    SECT283R1 = 10
    SECT409K1 = 11
    SECT409R1 = 12
    SECT571K1 = 13
    SECT571R1 = 14
    SECP160K1 = 15
    SECP160R1 = 16
    SECP160R2 = 17
    SECP192K1 = 18
    SECP192R1 = 19
    SECP224K1 = 20
    SECP224R1 = 21
    SECP256K1 = 22
    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    BRAINPOOLP256R1 = 26
    BRAINPOOLP384R1 = 27
    BRAINPOOLP512R1 = 28
    X25519 = 29
    X448 = 30
    BRAINPOOLP256R1TLS13 = 31
    BRAINPOOLP384R1TLS13 = 32
    BRAINPOOLP512R1TLS13 = 33
    GC256A = 34
    GC256B = 35
    GC256C = 36
    GC256D = 37
    GC512A = 38
    GC512B = 39
    GC512C = 40
    CURVESM2 = 41
    FFDHE2048 = 256
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    MLKEM512 = 0x0200
    MLKEM768 = 0x0201
    MLKEM1024 = 0x0202
    SECP256R1MLKEM768 = 0x11EB
    X25519MLKEM768 = 0x11EC
    SECP384R1MLKEM1024 = 0x11ED
    X25519KYBER768DRAFT00 = 0x6399
    SECP256R1KYBER768DRAFT00 = 0x639A

    @property
    def label(self) -> str:
        return _GROUP_LABELS.get(self, self.name.lower())

    @property
    def bits(self) -> int:
        """Size of the group: the curve or prime in bits (hybrids: their classical part)."""
        return _GROUP_BITS.get(self, 0)

    @property
    def tls13(self) -> bool:
        return self.value >= 23 and self.value not in (26, 27, 28) and self.value != 22


_GROUP_LABELS = {
    Group.X25519: "x25519",
    Group.X448: "x448",
    Group.CURVESM2: "curveSM2",
    Group.BRAINPOOLP256R1: "brainpoolP256r1",
    Group.BRAINPOOLP384R1: "brainpoolP384r1",
    Group.BRAINPOOLP512R1: "brainpoolP512r1",
    Group.BRAINPOOLP256R1TLS13: "brainpoolP256r1tls13",
    Group.BRAINPOOLP384R1TLS13: "brainpoolP384r1tls13",
    Group.BRAINPOOLP512R1TLS13: "brainpoolP512r1tls13",
    Group.MLKEM512: "MLKEM512",
    Group.MLKEM768: "MLKEM768",
    Group.MLKEM1024: "MLKEM1024",
    Group.SECP256R1MLKEM768: "SecP256r1MLKEM768",
    Group.X25519MLKEM768: "X25519MLKEM768",
    Group.SECP384R1MLKEM1024: "SecP384r1MLKEM1024",
    Group.X25519KYBER768DRAFT00: "X25519Kyber768Draft00",
    Group.SECP256R1KYBER768DRAFT00: "SecP256r1Kyber768Draft00",
}
_GROUP_BITS = {
    **{g: int(g.name[4:7]) for g in Group if g.name.startswith(("SECT", "SECP"))},
    Group.SECP256R1MLKEM768: 256,
    Group.X25519MLKEM768: 253,
    Group.SECP384R1MLKEM1024: 384,
    Group.X25519KYBER768DRAFT00: 253,
    Group.SECP256R1KYBER768DRAFT00: 256,
    Group.BRAINPOOLP256R1: 256,
    Group.BRAINPOOLP384R1: 384,
    Group.BRAINPOOLP512R1: 512,
    Group.BRAINPOOLP256R1TLS13: 256,
    Group.BRAINPOOLP384R1TLS13: 384,
    Group.BRAINPOOLP512R1TLS13: 512,
    Group.X25519: 253,
    Group.X448: 448,
    Group.GC256A: 256,
    Group.GC256B: 256,
    Group.GC256C: 256,
    Group.GC256D: 256,
    Group.GC512A: 512,
    Group.GC512B: 512,
    Group.GC512C: 512,
    Group.CURVESM2: 256,
    Group.FFDHE2048: 2048,
    Group.FFDHE3072: 3072,
    Group.FFDHE4096: 4096,
    Group.FFDHE6144: 6144,
    Group.FFDHE8192: 8192,
    Group.MLKEM512: 0,
    Group.MLKEM768: 0,
    Group.MLKEM1024: 0,
}


def group_label(code: int) -> str:
    try:
        return Group(code).label
    except ValueError:
        return f"0x{code:04x}"


#: Every signature scheme a server might want to use, so that no server refuses us for lack of
#: one: RFC 8446 schemes, the TLS 1.2 (hash, signature) pairs down to MD5, GOST, SM2 and ML-DSA.
SIGNATURE_SCHEMES: tuple[int, ...] = (
    0x0403, 0x0503, 0x0603,  # ecdsa_secp256r1_sha256 .. secp521r1_sha512
    0x0807, 0x0808,  # ed25519, ed448
    0x0804, 0x0805, 0x0806,  # rsa_pss_rsae_*
    0x0809, 0x080A, 0x080B,  # rsa_pss_pss_*
    0x0401, 0x0501, 0x0601,  # rsa_pkcs1_*
    0x081A, 0x081B, 0x081C,  # ecdsa_brainpool*tls13
    0x0904, 0x0905, 0x0906,  # mldsa44/65/87
    0x0708,  # sm2sig_sm3
    0x0709, 0x070A, 0x070B, 0x070C, 0x070D, 0x070E, 0x070F,  # gostr34102012_*
    0x0303, 0x0301, 0x0302,  # sha224 ecdsa/rsa/dsa
    0x0402, 0x0502, 0x0602,  # dsa sha256..512
    0x0203, 0x0201, 0x0202,  # sha1 ecdsa/rsa/dsa
    0x0101, 0x0102, 0x0103,  # md5 rsa/dsa/ecdsa
    0xEEEE, 0xEFEF, 0xEDED,  # gost 2001/2012 (hash, signature) pairs of RFC 9189
)  # fmt: skip


ALERTS: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

ALERT_PROTOCOL_VERSION = 70
ALERT_INAPPROPRIATE_FALLBACK = 86


def alert_label(code: int) -> str:
    return ALERTS.get(code, f"alert {code}")
