"""The cipher suite registry: complete, consistent, and its derived attributes right."""

from __future__ import annotations

import warnings

import pytest

from keywire.tls import suites
from keywire.tls._constants import Version
from keywire.tls._suite_table import SSL2_CIPHERS, TLS13_CODES, TLS_SUITES


def test_codes_and_names_are_unique() -> None:
    codes = [c for c, _ in TLS_SUITES]
    names = [n for _, n in TLS_SUITES]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    assert all(n.startswith(("TLS_", "SSL_")) for n in names)
    assert len(TLS_SUITES) > 360  # the IANA registry plus the legacy suites


def test_every_suite_has_known_attributes() -> None:
    for suite in suites.ALL:
        assert suite.cipher != "UNKNOWN", suite
        assert suite.kex != "UNKNOWN", suite
        assert suite.null or suite.bits > 0, suite


def test_names_agree_with_tlslite() -> None:
    """An independent table (tlslite-ng's) spells the shared code points the same way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tlslite.constants import CipherSuite

    ours = dict(TLS_SUITES) | dict(SSL2_CIPHERS)
    shared = [code for code in CipherSuite.ietfNames if code in ours]
    assert len(shared) > 100
    for code in shared:
        theirs = CipherSuite.ietfNames[code]
        assert ours[code].upper().replace("_WITH_", "_") == theirs.upper().replace("_WITH_", "_"), (
            hex(code)
        )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0xC02F, dict(kex="ECDHE", auth="RSA", cipher="AES_128_GCM", bits=128, mac="AEAD")),
        (0x000A, dict(kex="RSA", cipher="3DES_EDE_CBC", bits=112, block64=True, weak=True)),
        (0x0003, dict(export=True, rc4=True, bits=40, mac="MD5")),
        (0x0018, dict(anonymous=True, rc4=True, forward_secret=True)),
        (0x0001, dict(null=True, mac="MD5", forward_secret=False)),
        (0x1301, dict(tls13=True, aead=True, forward_secret=True, kex="ANY")),
        (0xCCA8, dict(cipher="CHACHA20_POLY1305", bits=256, aead=True, tls12_only=True)),
        (0x0009, dict(single_des=True, bits=56, export=False)),
        (0x0062, dict(export=True, bits=56, single_des=False)),
        (0xC0AE, dict(cipher="AES_128_CCM_8", aead=True)),
        (0x0066, dict(kex="DHE", auth="DSS", rc4=True)),
        (0x002F, dict(cbc=True, tls12_only=False, weak=False)),
        (0xC0B4, dict(tls13=True, null=True, mac="SHA256")),
        (0x0081, dict(kex="GOST", cipher="GOST28147_CNT", bits=256)),
    ],
)
def test_derived_attributes(code: int, expected: dict[str, object]) -> None:
    suite = suites.by_code(code)
    for attribute, value in expected.items():
        assert getattr(suite, attribute) == value, (suite.name, attribute)


def test_offers_per_version() -> None:
    tls13 = suites.for_version(Version.TLS13)
    assert {s.code for s in tls13} == set(TLS13_CODES)
    tls12 = suites.for_version(Version.TLS12)
    assert not any(s.tls13 for s in tls12)
    tls10 = suites.for_version(Version.TLS10)
    assert not any(s.aead or s.mac in ("SHA256", "SHA384") for s in tls10)
    assert suites.for_version(Version.SSL3) == tls10
    # strongest first: forward secret AEAD suites lead the TLS 1.2 offer
    assert tls12[0].forward_secret and tls12[0].aead
    assert tls12[-1].strength == 0


def test_unknown_codes_get_placeholders() -> None:
    assert suites.by_code(0xFAFA).name == "UNKNOWN_0xFAFA"
    assert suites.ssl2_by_code(0x123456).name == "SSL_CK_UNKNOWN_0x123456"
    assert suites.ssl2_by_code(0x020080).export
