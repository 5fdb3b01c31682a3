"""The rules of the ``tls`` family: KW4xx protocols, cipher suites and key exchange, KW6xx
certificates. IDs are permanent. The check logic is in :mod:`keywire.checks.tls`."""

from __future__ import annotations

from .._models import Category, Rule, Severity

_OWASP = "API8:2023"
_BCP195 = "https://www.rfc-editor.org/rfc/rfc9325"
_MOZILLA = "https://wiki.mozilla.org/Security/Server_Side_TLS"
_CHEAT = "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html"
_RATING = "https://github.com/ssllabs/research/wiki/SSL-Server-Rating-Guide"
_BR = "https://cabforum.org/working-groups/server/baseline-requirements/documents/"
_RFC5280 = "https://www.rfc-editor.org/rfc/rfc5280"

_FLASK_TLS = """\
import ssl

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.minimum_version = ssl.TLSVersion.TLSv1_2
context.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20")  # TLS 1.3 suites stay on
context.load_cert_chain("fullchain.pem", "privkey.pem")
app.run(ssl_context=context)  # in production, configure the TLS terminator the same way
"""
_FLASK_CERT = """\
# Serve the full chain (leaf first, then intermediates) from a publicly trusted CA,
# e.g. certbot's fullchain.pem, and renew it automatically:
context.load_cert_chain("fullchain.pem", "privkey.pem")
"""


def encryption_rule(
    rule_id: str,
    title: str,
    cwe: tuple[int, ...],
    severity: Severity,
    description: str,
    remediation: str,
    references: tuple[str, ...],
    *,
    grade_cap: str | None = None,
    flask_fix: str = _FLASK_TLS,
    module: str = "",
) -> Rule:
    """A rule of the encryption category (the TLS, certificate and revocation families);
    ``module`` is the one that defines it (another module's helper passes its ``__name__``)."""
    return Rule(
        id=rule_id,
        title=title,
        cwe=cwe,
        owasp_api=_OWASP,
        category=Category.ENCRYPTION,
        severity=severity,
        description=description,
        remediation=remediation,
        references=references,
        flask_fix=flask_fix,
        grade_cap=grade_cap,
        module=module,
    )


_rule = encryption_rule


SSL2 = _rule(
    "KW401",
    "SSL 2.0 is offered",
    (327, 757),
    Severity.HIGH,
    "The server completes SSL 2.0 hellos. SSL 2.0 is broken beyond repair (RFC 6176): weak "
    "MACs, no handshake integrity, export ciphers, and DROWN lets an attacker use it to decrypt "
    "TLS sessions made with the same key.",
    "Disable SSL 2.0 everywhere the certificate's key is used; offer TLS 1.2 and 1.3 only.",
    ("https://www.rfc-editor.org/rfc/rfc6176", "https://drownattack.com/", _BCP195),
    grade_cap="F",
)
SSL3 = _rule(
    "KW402",
    "SSL 3.0 is offered",
    (327, 757),
    Severity.HIGH,
    "The server negotiates SSL 3.0, deprecated by RFC 7568: its CBC padding is open to POODLE "
    "and its only stream cipher is RC4, so an attacker on the path can recover secrets such as "
    "API keys from repeated requests.",
    "Disable SSL 3.0; offer TLS 1.2 and 1.3 only.",
    ("https://www.rfc-editor.org/rfc/rfc7568", _BCP195),
)
TLS10 = _rule(
    "KW403",
    "TLS 1.0 is offered",
    (327, 757),
    Severity.MEDIUM,
    "The server negotiates TLS 1.0, deprecated by RFC 8996: it depends on MD5 and SHA-1 in "
    "its handshake, has no AEAD cipher suites and its CBC mode is open to BEAST-style attacks.",
    "Disable TLS 1.0 (set the minimum version to TLS 1.2).",
    ("https://www.rfc-editor.org/rfc/rfc8996", _BCP195, _RATING),
    grade_cap="B",
)
TLS11 = _rule(
    "KW404",
    "TLS 1.1 is offered",
    (327, 757),
    Severity.MEDIUM,
    "The server negotiates TLS 1.1, deprecated by RFC 8996: it still depends on MD5 and SHA-1 "
    "in its handshake and has no AEAD cipher suites.",
    "Disable TLS 1.1 (set the minimum version to TLS 1.2).",
    ("https://www.rfc-editor.org/rfc/rfc8996", _BCP195, _RATING),
    grade_cap="B",
)
NO_MODERN = _rule(
    "KW405",
    "Neither TLS 1.2 nor TLS 1.3 is offered",
    (327,),
    Severity.HIGH,
    "The server offers only deprecated protocol versions, so every client that talks to it "
    "uses a protocol with known weaknesses, and modern clients refuse to connect at all.",
    "Enable TLS 1.2 and TLS 1.3 (and disable everything older).",
    ("https://www.rfc-editor.org/rfc/rfc8996", _BCP195),
)
NO_TLS13 = _rule(
    "KW406",
    "TLS 1.3 is not offered",
    (327,),
    Severity.LOW,
    "The server does not offer TLS 1.3, which removes the legacy algorithms of earlier versions, "
    "always has forward secrecy and encrypts the certificate exchange.",
    "Enable TLS 1.3 alongside TLS 1.2 (OpenSSL 1.1.1 and later support it).",
    ("https://www.rfc-editor.org/rfc/rfc8446", _BCP195, _RATING),
    grade_cap="A-",
)
NO_FALLBACK_SCSV = _rule(
    "KW407",
    "No downgrade protection (TLS_FALLBACK_SCSV) while older versions are on",
    (757,),
    Severity.LOW,
    "The server accepts a hello that signals a fallback (TLS_FALLBACK_SCSV, RFC 7507) at a "
    "version below its best, so an attacker who breaks a client's first attempt can push it to "
    "an older protocol version.",
    "Support TLS_FALLBACK_SCSV (any current TLS library does), or offer a single protocol version.",
    ("https://www.rfc-editor.org/rfc/rfc7507", _BCP195),
)
NULL_CIPHERS = _rule(
    "KW410",
    "NULL cipher suites (no encryption) are accepted",
    (327, 319),
    Severity.HIGH,
    "The server accepts cipher suites with NULL encryption: the connection is authenticated "
    "but every byte, API keys included, crosses the network in cleartext.",
    "Remove NULL suites from the cipher configuration (`!eNULL` in OpenSSL cipher strings).",
    (_BCP195, _MOZILLA),
    grade_cap="F",
)
ANON_CIPHERS = _rule(
    "KW411",
    "Anonymous cipher suites (no server authentication) are accepted",
    (327, 295),
    Severity.HIGH,
    "The server accepts anonymous (DH_anon/ECDH_anon) suites, which skip the certificate: an "
    "attacker on the path can impersonate the server and read everything.",
    "Remove anonymous suites (`!aNULL` in OpenSSL cipher strings).",
    (_BCP195, _MOZILLA),
    grade_cap="F",
)
EXPORT_CIPHERS = _rule(
    "KW412",
    "EXPORT cipher suites are accepted",
    (326, 327),
    Severity.HIGH,
    "The server accepts 1990s export-grade suites (40/56-bit keys, 512-bit RSA or DH): FREAK "
    "and Logjam break them in hours, even for clients that never offered them.",
    "Remove EXPORT suites (`!EXPORT`); any current library does by default.",
    ("https://mitls.org/pages/attacks/SMACK#freak", "https://weakdh.org/", _BCP195),
    grade_cap="F",
)
RC4_CIPHERS = _rule(
    "KW413",
    "RC4 cipher suites are accepted",
    (327,),
    Severity.HIGH,
    "RC4's keystream biases let an attacker recover secrets (cookies, API keys) sent repeatedly "
    "over many connections; RFC 7465 prohibits RC4 in TLS.",
    "Remove RC4 suites (`!RC4`).",
    ("https://www.rfc-editor.org/rfc/rfc7465", _BCP195),
)
DES_CIPHERS = _rule(
    "KW414",
    "Single-DES or other 56-bit cipher suites are accepted",
    (326, 327),
    Severity.HIGH,
    "The server accepts suites whose keys are 56 bits or shorter (single DES, RC2, RC4-56): they "
    "can be brute-forced with commodity hardware.",
    "Remove DES and other sub-112-bit suites (`!DES:!RC2:!LOW`).",
    (_BCP195, "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
)
BLOCK64_CIPHERS = _rule(
    "KW415",
    "Cipher suites with 64-bit blocks (3DES, IDEA) are accepted",
    (327,),
    Severity.MEDIUM,
    "Ciphers with 64-bit blocks such as 3DES repeat blocks after a few dozen gigabytes; the "
    "Sweet32 attack uses that to recover secrets from long-lived connections.",
    "Remove 3DES and IDEA suites (`!3DES:!IDEA`).",
    ("https://sweet32.info/", _BCP195),
)
CBC_LEGACY = _rule(
    "KW416",
    "CBC cipher suites are accepted with TLS 1.0 or SSL 3.0",
    (327,),
    Severity.LOW,
    "CBC suites in TLS 1.0 and SSL 3.0 use a predictable IV (BEAST) and are the target of "
    "padding-oracle attacks; clients that still use these versions get them.",
    "Disable TLS 1.0 and SSL 3.0; with TLS 1.2 prefer AEAD suites.",
    ("https://www.rfc-editor.org/rfc/rfc8996", _BCP195),
)
NO_FORWARD_SECRECY = _rule(
    "KW417",
    "No forward secrecy",
    (327,),
    Severity.MEDIUM,
    "No accepted suite uses an ephemeral key exchange (ECDHE, DHE or TLS 1.3): whoever obtains "
    "the server's private key later can decrypt every recorded session, API keys included.",
    "Offer ECDHE suites (and TLS 1.3), ahead of static RSA key exchange.",
    (_BCP195, _MOZILLA, _RATING),
    grade_cap="B",
)
STATIC_KEX = _rule(
    "KW418",
    "Suites without forward secrecy are accepted",
    (327,),
    Severity.LOW,
    "Besides forward-secret suites, the server accepts static RSA or static (EC)DH key "
    "exchange: clients that end up with them lose forward secrecy, and static RSA is the "
    "target of Bleichenbacher-style (ROBOT) attacks.",
    "Remove static key exchange suites (`!kRSA:!kDH:!kECDH`), keep ECDHE/DHE and TLS 1.3.",
    (_BCP195, _MOZILLA, "https://robotattack.org/"),
)
NO_AEAD = _rule(
    "KW419",
    "No AEAD cipher suite",
    (327,),
    Severity.MEDIUM,
    "No accepted suite uses authenticated encryption (AES-GCM, ChaCha20-Poly1305, AES-CCM): "
    "every connection relies on MAC-then-encrypt CBC or stream ciphers with known attacks.",
    "Offer AES-GCM and ChaCha20-Poly1305 suites with TLS 1.2, and TLS 1.3.",
    (_BCP195, _MOZILLA, _RATING),
    grade_cap="B",
)
WEAK_PREFERENCE = _rule(
    "KW420",
    "The server prefers a weaker cipher suite",
    (757,),
    Severity.LOW,
    "The server imposes its own suite order and puts a suite without forward secrecy or "
    "without AEAD first, although it accepts a stronger one: clients that offer both get the "
    "weaker.",
    "Order the suites strongest first (ECDHE with AEAD) or let the client choose.",
    (_BCP195, _MOZILLA),
)
DH_SMALL = _rule(
    "KW421",
    "Diffie-Hellman parameters under 2048 bits",
    (326,),
    Severity.MEDIUM,
    "The server's DHE key exchange uses a prime under 2048 bits; 1024-bit groups are within "
    "reach of well-funded attackers (Logjam), especially the common ones.",
    "Use DH parameters of at least 2048 bits (RFC 7919 ffdhe2048 or larger), or drop DHE for ECDHE.",
    ("https://weakdh.org/", "https://www.rfc-editor.org/rfc/rfc7919", _BCP195),
    grade_cap="B",
)
KEX_BROKEN = _rule(
    "KW422",
    "Key exchange under 1024 bits",
    (326,),
    Severity.HIGH,
    "The server's ephemeral DH prime or export RSA key is under 1024 bits: it can be broken "
    "quickly (Logjam, FREAK) and the session decrypted or hijacked.",
    "Use DH parameters of at least 2048 bits and remove EXPORT suites.",
    ("https://weakdh.org/", "https://mitls.org/pages/attacks/SMACK#freak", _BCP195),
    grade_cap="F",
)
WEAK_CURVE = _rule(
    "KW423",
    "Elliptic curves under 224 bits are used for key exchange",
    (326,),
    Severity.MEDIUM,
    "The server uses an elliptic curve with under 224 bits (secp160, secp192, sect163...) for "
    "ECDHE, below the 112-bit security level required today.",
    "Restrict ECDHE to X25519, secp256r1 and stronger curves.",
    (_BCP195, "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
)
NO_SECURE_RENEGOTIATION = _rule(
    "KW424",
    "Secure renegotiation (RFC 5746) is not supported",
    (300,),
    Severity.MEDIUM,
    "The server does not answer with the renegotiation_info extension, so it may accept "
    "renegotiations an attacker splices in front of a client's request (CVE-2009-3555).",
    "Update the TLS library; RFC 5746 support is universal since 2010.",
    ("https://www.rfc-editor.org/rfc/rfc5746", _BCP195),
)
COMPRESSION = _rule(
    "KW425",
    "TLS compression is enabled",
    (200,),
    Severity.MEDIUM,
    "The server compresses TLS records. Compression of attacker-influenced data next to "
    "secrets leaks the secrets through the ciphertext length (CRIME): headers carrying API keys "
    "can be recovered.",
    "Disable TLS-level compression (OpenSSL: SSL_OP_NO_COMPRESSION, the default since 1.1.0).",
    (_BCP195, "https://en.wikipedia.org/wiki/CRIME"),
)
CLIENT_RENEGOTIATION = _rule(
    "KW426",
    "Client-initiated renegotiation is honoured",
    (400, 770),
    Severity.MEDIUM,
    "The server completes renegotiations that the client starts, again and again on one "
    "connection. Each costs the server a full handshake (a private-key operation) and the client "
    "next to nothing, so a few connections can tie up its CPU: a cheap denial of service that "
    "needs no credentials. keywire starts up to four in a row and reports when all are honoured.",
    "Refuse client-initiated renegotiation (OpenSSL 1.1.1+ and 3.x refuse it unless "
    "SSL_OP_ALLOW_CLIENT_RENEGOTIATION is set; nginx refuses it; for Apache httpd and others, "
    "update or rate-limit), or offer TLS 1.3 only, which has no renegotiation.",
    (
        "https://www.rfc-editor.org/rfc/rfc5746",
        "https://www.thc.org/thc-ssl-dos/",
        _BCP195,
        "https://cwe.mitre.org/data/definitions/400.html",
    ),
)
HEARTBLEED = _rule(
    "KW427",
    "Heartbleed (CVE-2014-0160)",
    (125, 200),
    Severity.CRITICAL,
    "The server answers a TLS heartbeat whose declared length exceeds the data it carried, the "
    "behaviour of OpenSSL 1.0.1 to 1.0.1f. An attacker sends the same request with a larger "
    "length and receives up to 64 KiB of the server's memory per heartbeat: private keys, "
    "session keys, and the API keys and passwords of other users' requests. keywire's probe "
    "overruns only into its own padding, so the server echoed keywire's bytes, not its memory.",
    "Update OpenSSL (1.0.1g or later; every supported version is fixed), then replace the "
    "server's private key and certificate, revoke the old certificate, and rotate every "
    "credential and session that crossed the server while it was exposed.",
    (
        "https://heartbleed.com/",
        "https://nvd.nist.gov/vuln/detail/CVE-2014-0160",
        "https://www.rfc-editor.org/rfc/rfc6520",
    ),
    grade_cap="F",
)
CCS_INJECTION = _rule(
    "KW428",
    "OpenSSL CCS injection (CVE-2014-0224)",
    (326, 300),
    Severity.HIGH,
    "The server accepts a ChangeCipherSpec before the key exchange, the behaviour of OpenSSL "
    "before 0.9.8za, 1.0.0m and 1.0.1h. An attacker on the path makes both ends use keys derived "
    "from an empty master secret (with a vulnerable client) and then reads and alters the "
    "traffic, API keys included.",
    "Update OpenSSL to a supported version (the fix is in 0.9.8za, 1.0.0m, 1.0.1h and later).",
    (
        "https://nvd.nist.gov/vuln/detail/CVE-2014-0224",
        "https://www.openssl.org/news/secadv/20140605.txt",
        "https://www.openssl.org/news/vulnerabilities.html",
    ),
    grade_cap="F",
)
ROBOT_STRONG = _rule(
    "KW429",
    "ROBOT: the RSA key exchange is a strong Bleichenbacher oracle",
    (203, 327),
    Severity.HIGH,
    "The server answers RSA key exchanges with wrongly padded secrets differently depending on "
    "how the padding is wrong (ROBOT, Return Of Bleichenbacher's Oracle Threat). With enough "
    "connections an attacker decrypts recorded sessions that used RSA key exchange, or signs "
    "with the server's key. A strong oracle makes the attack practical.",
    "Update the TLS library or appliance firmware, and disable RSA key exchange suites "
    "(TLS_RSA_WITH_*; `!kRSA` in OpenSSL) so that only ECDHE, DHE and TLS 1.3 remain.",
    ("https://robotattack.org/", "https://eprint.iacr.org/2017/1189", _BCP195),
    grade_cap="F",
)
ROBOT_WEAK = _rule(
    "KW430",
    "ROBOT: the RSA key exchange is a weak Bleichenbacher oracle",
    (203, 327),
    Severity.MEDIUM,
    "The server answers a correctly formatted but wrong RSA key exchange differently from the "
    "other malformed ones (ROBOT, weak oracle). The Bleichenbacher attack still works, with "
    "many more connections than for a strong oracle.",
    "Update the TLS library or appliance firmware, and disable RSA key exchange suites "
    "(TLS_RSA_WITH_*; `!kRSA` in OpenSSL).",
    ("https://robotattack.org/", "https://eprint.iacr.org/2017/1189", _BCP195),
)
EARLY_DATA = _rule(
    "KW431",
    "TLS 1.3 early data (0-RTT) is accepted",
    (294,),
    Severity.LOW,
    "The server accepts early data (0-RTT) on resumed TLS 1.3 sessions. Early data has no "
    "protection against replay: an attacker who records a client's first flight can send it "
    "again, and the request in it (carrying the client's API key) runs again. The server did "
    "refuse the same ticket a second time (single-use tickets), which stops simple replays but "
    "not one that reaches another server of the same deployment, or that races the original.",
    "Turn 0-RTT off for the API (nginx `ssl_early_data off`, the default; OpenSSL: do not set "
    "max_early_data), or accept only idempotent requests in early data and answer others with "
    "425 Too Early (RFC 8470).",
    (
        "https://www.rfc-editor.org/rfc/rfc8446#section-8",
        "https://www.rfc-editor.org/rfc/rfc8470",
        "https://cwe.mitre.org/data/definitions/294.html",
    ),
)
EARLY_DATA_REPLAY = _rule(
    "KW432",
    "TLS 1.3 early data (0-RTT) is accepted again on a replayed ticket",
    (294,),
    Severity.MEDIUM,
    "The server accepts early data (0-RTT) and accepted it again when keywire offered the same "
    "ticket a second time: it keeps no anti-replay state. Whoever records a client's 0-RTT "
    "request (an API call with its key) can replay it as often as the ticket lives, repeating "
    "state-changing calls.",
    "Turn 0-RTT off for the API (nginx `ssl_early_data off`), or keep OpenSSL's anti-replay "
    "protection on (do not set SSL_OP_NO_ANTI_REPLAY) and answer non-idempotent requests in "
    "early data with 425 Too Early (RFC 8470).",
    (
        "https://www.rfc-editor.org/rfc/rfc8446#section-8",
        "https://www.rfc-editor.org/rfc/rfc8470",
        "https://cwe.mitre.org/data/definitions/294.html",
    ),
)
LONG_TICKETS = _rule(
    "KW433",
    "Session tickets are valid for more than a day",
    (613,),
    Severity.INFO,
    "The server's session tickets say they may be used for more than 24 hours (TLS 1.3 caps "
    "them at 7 days). A resumed session's keys derive from the ticket, which is encrypted with "
    "the server's ticket key: whoever obtains that key decrypts every session resumed from a "
    "ticket it encrypted, so the longer tickets live, the longer forward secrecy is suspended.",
    "Keep ticket lifetimes short (a few hours; nginx `ssl_session_timeout`), rotate the ticket "
    "keys at least daily, or turn tickets off.",
    (
        "https://www.rfc-editor.org/rfc/rfc8446#section-4.6.1",
        "https://www.rfc-editor.org/rfc/rfc5077",
        _MOZILLA,
    ),
)
DH_COMPOSITE = _rule(
    "KW434",
    "The DH modulus is not a prime",
    (326, 1240),
    Severity.HIGH,
    "The server's DHE parameters use a composite modulus. Discrete logarithms modulo a "
    "composite split into smaller problems over its factors: whoever knows them (or finds "
    "them) recovers the ephemeral keys and decrypts the sessions, whatever the modulus' size. "
    "keywire tests primality itself (Baillie-PSW) instead of trusting the size.",
    "Use a standard group (RFC 7919 ffdhe2048 or larger; OpenSSL 3 and nginx use them when no "
    "parameters are set), or drop DHE for ECDHE.",
    ("https://www.rfc-editor.org/rfc/rfc7919", "https://weakdh.org/", _BCP195),
    grade_cap="F",
)
DH_SMALL_SUBGROUP = _rule(
    "KW435",
    "The DH generator lies in a small subgroup",
    (326, 1240),
    Severity.HIGH,
    "The prime is large, but the server's generator has a small order (its largest prime "
    "factor is under 160 bits): every key lives in that small subgroup, where Pohlig-Hellman "
    "and Pollard's rho recover it quickly. The size shown to clients is misleading.",
    "Use a standard group (RFC 7919 ffdhe2048 or larger), whose generator has a prime order of "
    "about the size of the prime; or drop DHE for ECDHE.",
    (
        "https://www.rfc-editor.org/rfc/rfc7919",
        "https://eprint.iacr.org/2016/995",
        "https://badssl.com/",
    ),
    grade_cap="F",
)
DH_NOT_SAFE = _rule(
    "KW436",
    "The DH prime is not a safe prime",
    (326,),
    Severity.LOW,
    "The server's DH prime p is not a safe prime (p = 2q + 1 with q prime), so p - 1 has other "
    "factors and the group has subgroups keywire could not rule out: the generator's order is "
    "unknown or smaller than the prime. Servers that reuse exponents or do not check peer keys "
    "are open to small-subgroup attacks in such groups (CVE-2016-0701).",
    "Use a standard safe-prime group (RFC 7919 ffdhe2048 or larger), or drop DHE for ECDHE.",
    ("https://eprint.iacr.org/2016/995", "https://www.rfc-editor.org/rfc/rfc7919", _BCP195),
)
EPHEMERAL_REUSE = _rule(
    "KW437",
    "Ephemeral key exchange values are reused across connections",
    (323,),
    Severity.INFO,
    'The server sent the same (EC)DHE public value on different connections: its "ephemeral" '
    "key is reused, so sessions are not independent. Whoever obtains that one private value "
    "decrypts every session made with it until it changes, and with DH groups that are not "
    "safe primes reuse enables small-subgroup key recovery.",
    "Generate a fresh key for every handshake (OpenSSL does by default; check SSL_OP_SINGLE_DH_USE "
    "on old versions and TLS terminators that cache keys).",
    ("https://www.rfc-editor.org/rfc/rfc7919", "https://eprint.iacr.org/2016/995", _BCP195),
)

CERT_EXPIRED = _rule(
    "KW601",
    "Certificate has expired",
    (295,),
    Severity.HIGH,
    "A certificate in the served chain is past its notAfter date. Clients refuse it, or their "
    "users learn to click through warnings, which is what an attacker with a forged "
    "certificate needs.",
    "Renew the certificate and automate renewal (ACME).",
    (_RFC5280, _BR),
    grade_cap="C",
    flask_fix=_FLASK_CERT,
)
CERT_NOT_YET_VALID = _rule(
    "KW602",
    "Certificate is not yet valid",
    (295,),
    Severity.HIGH,
    "A certificate in the served chain has a notBefore date in the future, so clients refuse it "
    "(or the server's clock, or the CA's, is wrong).",
    "Serve a certificate that is valid now; check the server's clock.",
    (_RFC5280, _BR),
    grade_cap="C",
    flask_fix=_FLASK_CERT,
)
CERT_SELF_SIGNED = _rule(
    "KW603",
    "Self-signed certificate",
    (295,),
    Severity.HIGH,
    "The server's certificate signs itself and is not in the trust store. Clients can only "
    "connect by switching off verification, after which anyone on the path can impersonate "
    "the API.",
    "Use a certificate from a publicly trusted CA (or from your private CA, distributed to the clients).",
    (_RFC5280, _CHEAT),
    grade_cap="C",
    flask_fix=_FLASK_CERT,
)
CERT_UNTRUSTED = _rule(
    "KW604",
    "Certificate chain does not verify against trusted roots",
    (295,),
    Severity.HIGH,
    "The chain does not lead to a root in the trust store (certifi, the system's, and "
    "--ca-file): its root is unknown, its issuer cannot be found, or it breaks a rule of the "
    "Web PKI. Clients refuse it or are told to skip verification.",
    "Use a certificate from a publicly trusted CA and serve its complete chain.",
    (_RFC5280, _BR, _CHEAT),
    grade_cap="C",
    flask_fix=_FLASK_CERT,
)
CERT_NAME_MISMATCH = _rule(
    "KW605",
    "Certificate does not match the host name",
    (295,),
    Severity.HIGH,
    "None of the certificate's subjectAltName entries matches the name (or IP address) clients "
    "use for the API, so verifying clients refuse it and the rest are open to impersonation.",
    "Serve a certificate whose subjectAltName lists every name (and IP address) of the API.",
    ("https://www.rfc-editor.org/rfc/rfc6125", _BR),
    grade_cap="C",
    flask_fix=_FLASK_CERT,
)
CERT_INCOMPLETE = _rule(
    "KW606",
    "Incomplete certificate chain",
    (295,),
    Severity.MEDIUM,
    "The server does not send the intermediate certificate(s) between its certificate and the "
    "root. Browsers may fetch them, but API clients (curl, requests, SDKs) fail to verify, and "
    "developers then turn verification off. (keywire reports this when the certificate names "
    "where its issuer can be fetched; an issuer nobody can find is KW604.)",
    "Serve the full chain: the leaf followed by every intermediate (e.g. fullchain.pem).",
    (_RFC5280, "https://www.rfc-editor.org/rfc/rfc8446#section-4.4.2"),
    flask_fix=_FLASK_CERT,
)
CERT_MD5 = _rule(
    "KW607",
    "Certificate signed with MD5",
    (328, 327),
    Severity.HIGH,
    "A certificate in the chain is signed with MD5, for which practical collision attacks have "
    "produced rogue CA certificates.",
    "Reissue the certificate with a SHA-256 signature.",
    (_BR, "https://www.win.tue.nl/hashclash/rogue-ca/"),
    flask_fix=_FLASK_CERT,
)
CERT_SHA1 = _rule(
    "KW608",
    "Certificate signed with SHA-1",
    (328,),
    Severity.MEDIUM,
    "A certificate in the chain is signed with SHA-1, for which chosen-prefix collisions are "
    "practical (SHAttered, SHA-1 is a Shambles). Browsers and the CA/B Forum rejected it years ago.",
    "Reissue the certificate with a SHA-256 signature.",
    (_BR, "https://shattered.io/", "https://sha-mbles.github.io/"),
    flask_fix=_FLASK_CERT,
)
CERT_RSA_SMALL = _rule(
    "KW609",
    "Certificate key under 2048 bits (RSA, DSA)",
    (326,),
    Severity.MEDIUM,
    "An RSA or DSA key in the chain is shorter than 2048 bits, under the 112-bit security "
    "level required since 2014; 1024-bit keys are within reach of well-funded attackers.",
    "Reissue the certificate with an RSA key of at least 2048 bits, or an EC P-256 key.",
    (_BR, "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
    flask_fix=_FLASK_CERT,
)
CERT_KEY_BROKEN = _rule(
    "KW610",
    "Certificate key under 1024 bits",
    (326,),
    Severity.HIGH,
    "An RSA or DSA key in the chain is shorter than 1024 bits: it can be factored with modest "
    "resources, after which anyone can impersonate the server.",
    "Reissue the certificate with an RSA key of at least 2048 bits, or an EC P-256 key.",
    (_BR, _RATING),
    grade_cap="F",
    flask_fix=_FLASK_CERT,
)
CERT_EC_SMALL = _rule(
    "KW611",
    "Certificate EC key under 256 bits",
    (326,),
    Severity.MEDIUM,
    "An elliptic-curve key in the chain is on a curve of under 256 bits (P-192, P-224), below "
    "what the CA/B Forum accepts and what clients support.",
    "Reissue the certificate with a P-256 or P-384 key.",
    (_BR, "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"),
    flask_fix=_FLASK_CERT,
)
CERT_LONG_LIFETIME = _rule(
    "KW612",
    "Certificate valid for more than 398 days",
    (295,),
    Severity.LOW,
    "The server's certificate is valid for more than 398 days, the limit browsers enforce for "
    "publicly trusted certificates since 2020: a stolen key stays useful longer, and clients "
    "like Safari reject it.",
    "Issue certificates valid for at most 398 days (90 days with ACME is usual) and automate renewal.",
    (_BR, "https://support.apple.com/en-us/102028"),
    flask_fix=_FLASK_CERT,
)

CERT_STRICT_PROFILE = _rule(
    "KW613",
    "Certificate chain breaks the strict X.509 profile that some clients enforce",
    (295,),
    Severity.LOW,
    "The chain verifies the way OpenSSL-based clients (curl, Python's ssl by default, most HTTP "
    "libraries) verify it, but breaks a rule of the strict profile (RFC 5280 and the CA/Browser "
    "Forum's requirements) that stricter clients enforce: Python 3.13's default SSL context "
    "(VERIFY_X509_STRICT), cryptography's verifier and WebPKI libraries refuse it. Typical causes are a CA "
    "made with a plain `openssl req -x509` (no key usage extension) and a server certificate that "
    "asserts cA. Clients on those stacks fail to connect.",
    "Reissue the certificates with the profile's extensions: a CA with `basicConstraints = "
    "critical,CA:TRUE` and `keyUsage = critical,keyCertSign,cRLSign`; a server certificate with "
    "`basicConstraints = critical,CA:FALSE`, a subjectAltName, `extendedKeyUsage = serverAuth` "
    "and an authority key identifier.",
    (_RFC5280, _BR, "https://docs.python.org/3/library/ssl.html#ssl.VERIFY_X509_STRICT"),
    flask_fix=_FLASK_CERT,
)

RULES: tuple[Rule, ...] = (
    SSL2,
    SSL3,
    TLS10,
    TLS11,
    NO_MODERN,
    NO_TLS13,
    NO_FALLBACK_SCSV,
    NULL_CIPHERS,
    ANON_CIPHERS,
    EXPORT_CIPHERS,
    RC4_CIPHERS,
    DES_CIPHERS,
    BLOCK64_CIPHERS,
    CBC_LEGACY,
    NO_FORWARD_SECRECY,
    STATIC_KEX,
    NO_AEAD,
    WEAK_PREFERENCE,
    DH_SMALL,
    KEX_BROKEN,
    WEAK_CURVE,
    NO_SECURE_RENEGOTIATION,
    COMPRESSION,
    CLIENT_RENEGOTIATION,
    HEARTBLEED,
    CCS_INJECTION,
    ROBOT_STRONG,
    ROBOT_WEAK,
    EARLY_DATA,
    EARLY_DATA_REPLAY,
    LONG_TICKETS,
    DH_COMPOSITE,
    DH_SMALL_SUBGROUP,
    DH_NOT_SAFE,
    EPHEMERAL_REUSE,
    CERT_EXPIRED,
    CERT_NOT_YET_VALID,
    CERT_SELF_SIGNED,
    CERT_UNTRUSTED,
    CERT_NAME_MISMATCH,
    CERT_INCOMPLETE,
    CERT_MD5,
    CERT_SHA1,
    CERT_RSA_SMALL,
    CERT_KEY_BROKEN,
    CERT_EC_SMALL,
    CERT_LONG_LIFETIME,
    CERT_STRICT_PROFILE,
)
