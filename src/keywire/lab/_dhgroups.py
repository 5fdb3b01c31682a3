"""Real finite-field DH primes for the scripted responder, by size.

RFC 7919 (ffdhe) and RFC 2409/3526 (MODP) primes are computed from their published definitions
(digits of e and pi); other sizes come from ``openssl dhparam`` once per process. Either way
the prime is a safe prime, so a responder profile that only asks for a size gets a sound
group, and only the profiles that ask for a broken one get one.
"""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess  # nosec B404: the local openssl CLI, fixed arguments

_FFDHE_X = {2048: 560316, 3072: 2625351, 4096: 5736041, 6144: 15705020, 8192: 10965728}
_MODP_X = {768: 149686, 1024: 129093, 1536: 741804}
_GUARD = 32


def _e_scaled(bits: int) -> int:
    """floor(e * 2**bits)."""
    total, term, k = 0, 1 << (bits + _GUARD), 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> _GUARD


def _atan_inverse(x: int, scale: int) -> int:
    total, term, k, sign = 0, scale // x, 1, 1
    while term:
        total += sign * (term // k)
        term //= x * x
        k += 2
        sign = -sign
    return total


def _pi_scaled(bits: int) -> int:
    """floor(pi * 2**bits), by Machin's formula."""
    scale = 1 << (bits + _GUARD)
    return (16 * _atan_inverse(5, scale) - 4 * _atan_inverse(239, scale)) >> _GUARD


@functools.lru_cache(maxsize=16)
def safe_prime(bits: int) -> int:
    """A safe prime of ``bits`` bits: a standard group when one exists, else openssl's."""
    top = (1 << bits) - (1 << (bits - 64))
    if bits in _FFDHE_X:
        return top + ((_e_scaled(bits - 130) + _FFDHE_X[bits]) << 64) - 1
    if bits in _MODP_X:
        return top - 1 + ((_pi_scaled(bits - 130) + _MODP_X[bits]) << 64)
    return _openssl_prime(bits)


def _openssl_prime(bits: int) -> int:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed for DH parameters of this size")
    done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [openssl, "dhparam", "-outform", "DER", str(bits)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return parse_dh_der(done.stdout)[0]


def _der_item(data: bytes, at: int) -> tuple[int, bytes, int]:
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    return tag, data[at : at + length], at + length


def parse_dh_der(der: bytes) -> tuple[int, int]:
    """(prime, generator) of PKCS #3 DHParameter DER (what openssl dhparam writes)."""
    _, body, _ = _der_item(der, 0)
    _, prime, at = _der_item(body, 0)
    _, generator, _ = _der_item(body, at)
    return int.from_bytes(prime, "big"), int.from_bytes(generator, "big")


def dh_pem(prime: int, generator: int) -> bytes:
    """PKCS #3 PEM for any (prime, generator), composites included (for ``load_dh_params``)."""

    def length(n: int) -> bytes:
        if n < 128:
            return bytes([n])
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return bytes([0x80 | len(raw)]) + raw

    def integer(value: int) -> bytes:
        raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
        return b"\x02" + length(len(raw)) + raw

    body = integer(prime) + integer(generator)
    der = b"\x30" + length(len(body)) + body
    text = base64.b64encode(der).decode("ascii")
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN DH PARAMETERS-----\n{lines}\n-----END DH PARAMETERS-----\n".encode()
