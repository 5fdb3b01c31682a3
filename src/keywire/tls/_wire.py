"""Bytes in and out: length-prefixed vectors for building messages, a bounded reader for parsing.

Every parse in keywire's TLS client goes through :class:`Reader`, which checks each length against
what is left and raises :class:`DecodeError` (with a reason) instead of reading past the end.
"""

from __future__ import annotations


class DecodeError(ValueError):
    """The peer sent bytes that are not a valid TLS structure."""


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def vec8(data: bytes) -> bytes:
    return u8(len(data)) + data


def vec16(data: bytes) -> bytes:
    return u16(len(data)) + data


def vec24(data: bytes) -> bytes:
    return u24(len(data)) + data


class Reader:
    """A cursor over ``data`` that never reads past its end.

    >>> r = Reader(bytes([0, 2, 0xAB, 0xCD]), "demo")
    >>> r.vec16().hex()
    'abcd'
    >>> r.done()
    """

    __slots__ = ("_data", "_pos", "what")

    def __init__(self, data: bytes, what: str = "message") -> None:
        self._data = data
        self._pos = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > len(self._data) - self._pos:
            raise DecodeError(
                f"{self.what}: needs {n} byte(s) at offset {self._pos}, {self.remaining} left"
            )
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u24(self) -> int:
        return self.uint(3)

    def vec8(self) -> bytes:
        return self.take(self.u8())

    def vec16(self) -> bytes:
        return self.take(self.u16())

    def vec24(self) -> bytes:
        return self.take(self.u24())

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def done(self) -> None:
        """Insist that nothing is left over."""
        if self.remaining:
            raise DecodeError(f"{self.what}: {self.remaining} unexpected trailing byte(s)")
