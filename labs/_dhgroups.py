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

#: A 2048-bit prime p = k(2^31 - 1) + 1 (k random) and a generator of order 2^31 - 1: a group
#: as large as ffdhe2048 in which every key lives in a subgroup of about 2^31 elements.
#: Made for this lab (a random k until p is prime, then g = 2^((p - 1) / (2^31 - 1)) mod p).
SMALL_SUBGROUP_2048 = (
    int(
        "f1b0f24e37470f7ec5cf9ecd75564105dca0cf999c050eb574073c44ff9bb71c72e52ec8"
        "6a06af08bfa47e3cf7d0f7cb2acde28d306b55fce79051d5f97f5585b3a2d92b533821fe"
        "78d39e8cc7f9db6e4eb6f2e2a3a40a9fc6fd5c22f1f162a4249d7e32728d826bd206dd4d"
        "7f23b27a1c6ef220634cb4719b7ee533dd1d4a3d875cfc4d0dc560d3e5da92b0ac2bc234"
        "e0849c1e3f5e93947a5a6d8feca8de82cf6aaac3ab59659b3e1585353d954b7331a7ccf2"
        "831841fb8b7f0256fe0fc2bb315cb06f8bae5f1bcca28fbf19f79a632d2eabe2b553e6ae"
        "4c67177c38d8567b11fd5ae308aad84f07a36fc38f71eb5365b08a754a3c1b03de7e5e3e"
        "6f0f32d3",
        16,
    ),
    int(
        "5b3e5aa403dc47fab687e441eb5727830413a529b418cdd9a678ff71081390d503826228"
        "10469c2a1c0dea495204605d8e98b738497194efd99e0de42883432409477384d06465f6"
        "3d60f3a25907ad3948ed095cc16e0efd6b0a602d2c973d805f35e9321638855fd509c8e1"
        "f4d4125e3d1fe7c182b0d54e46cf267d3fe618b8415ce63361d4af3c45cd83765b87a63b"
        "d81abbc3439bf012cacdb117a20b873d2a3dd5aab4b122d9954efc7eda777afa15741234"
        "62ccc7157c16c0655238a8e50c27b02f92567e894e61448b1c39a9c3449365bbe0ff720e"
        "aa37581492e008ed2076ee01c361bcbe7608d7733e4f13abf55c700904ab7e14ccf1f66f"
        "cd6343bb",
        16,
    ),
)
#: A DSA-style 2048-bit group from ``openssl dhparam -dsaparam 2048``: the generator spans a
#: 256-bit prime-order subgroup, sound, but p is not a safe prime and p - 1 cannot be factored
#: far enough to see the subgroup (what KW436 reports).
DSA_STYLE_2048 = (
    int(
        "e7039712d766dcc1bf878b6acd8ce3a2130294665baae739dc4a97c97ee82c7a46cee1bc"
        "80ed5261063830766d70f237c5cef4fb5dc2c8e4ebd235766c6ccd27626763f36c0856b9"
        "324eaa4337ba0975f5f90a92d299f4e7171a2ab5d464f6ad491b90ba787ad40d98e05548"
        "772c838c4d8a048c01117c6170468aaae4b2c78c109483fe4eb8023a09a0703634260f5a"
        "b37a0fe95f4f57e5d0d074fd47ed42ab9726ac836e906cf57bc2909d91d701ebe038f8bd"
        "25dbc89fb1c583c8d9a0b46ea4a249eabe1638c71a26e6e0704c96f7e1660640ddd1ccca"
        "9ece2d295967f3b0f15c4f2f095e9ee2c3a22e07addb25f27e77659fdc1b59205b020a65"
        "b3db4cf9",
        16,
    ),
    int(
        "a342601b10e6a01c9a0de96ee4a9c78c7bf24a5884ef64ac4597df1a80999898299941e6"
        "eb605a98170e92110c6e561b34e2c4b60b9a7f7622c646caf99d122831ba5f54b178a37e"
        "659f7763683e5ae4da91ae56331623279724cf3299f1f1c15aeab18824258b3f5a1a45bb"
        "21ca0b8bdf42180f52b2616e8afe3a7966cf64c5edc7258236a9f591aa94304ee3cba357"
        "43a7052611d031df82bedaed5fb39ff9ba0f3f63457ca61eecb1bb7658e92d832ce8de1c"
        "5027289ff73ce6db3d0bee0f2dd5559c588e13d748c841390f1255881b1e5f942ae006a8"
        "9449478a473934c32cdec9054003fd1cd27463401915c10030bf16fb97fc72a9ce0f2189"
        "2ed6b83f",
        16,
    ),
)
#: A 2048-bit safe prime from ``openssl dhparam 2048`` (no standard group), generator 2.
SAFE_2048 = (
    int(
        "89b5efc099cdb6f0b61e2563b2372ccf54da2da261e1f76567f782179422d5e72072644b"
        "a131bbdfcbdfe7541b139be2ebd572324790eada418ec7f6564afd49aec8fb79f6f3961b"
        "07db234072e7145fa2d0beee59e4e3eed01ada0845a3ec296daf4cdaa82b56ce6cc21b91"
        "ef6f9fdfb21f41f803d8921da187f99c82773ea0dc407ea878b3900597e3956c165e1b51"
        "542c318c285003ca1780529a175a6a2ec43d3ec7d0ceef73c3527ff626fff6112c5e7082"
        "0e13d13d4c6c7ad7ef99b07f266c34da9f119a044fdfe544775379c5a9483660120ea893"
        "ebdcef3f5dac69d3450ce598975579cc67d2a0e7f09bfa1049e33140a6268f215afb692d"
        "3ea9fb07",
        16,
    ),
    2,
)


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


def composite_2048() -> tuple[int, int]:
    """A 2048-bit composite modulus (an RSA modulus: two 1024-bit primes) with generator 2."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    modulus = rsa.generate_private_key(65537, 2048).public_key().public_numbers().n
    return modulus, 2


def lab_group(name: str) -> tuple[int, int]:
    """(prime, generator) of a named lab group: "composite-2048", "small-subgroup-2048",
    "safe-2048", "dsa-style-2048", or a size in bits (a safe prime, generator 2)."""
    if name == "composite-2048":
        return composite_2048()
    if name == "small-subgroup-2048":
        return SMALL_SUBGROUP_2048
    if name == "safe-2048":
        return SAFE_2048
    if name == "dsa-style-2048":
        return DSA_STYLE_2048
    return safe_prime(int(name)), 2


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
