"""When the enumeration first sees a version accepted: the depth probes start then, not after.

A session (TLS <= 1.2 or 1.3) needs only to know that the server speaks the version, and ROBOT
that it takes an RSA key exchange there; waiting for the whole list of suites would put these
probes' round trips after the enumeration's instead of beside them.
"""

from __future__ import annotations

import asyncio

from .suites import by_code


def robot_suite(code: int) -> bool:
    """An RSA key exchange ROBOT can test (export suites sign a temporary key instead)."""
    suite = by_code(code)
    return suite.kex == "RSA" and not suite.export


class Sightings:
    """Per version: has a suite been accepted yet (any; one with an RSA key exchange)?"""

    def __init__(self) -> None:
        self._futures: dict[tuple[int, bool], asyncio.Future[bool]] = {}

    def future(self, version: int, *, rsa: bool = False) -> asyncio.Future[bool]:
        """True at the first sighting; False once the version's enumeration ends without one."""
        key = (version, rsa)
        if key not in self._futures:
            self._futures[key] = asyncio.get_running_loop().create_future()
        return self._futures[key]

    def seen(self, version: int, code: int) -> None:
        self._resolve(version, False, True)
        if robot_suite(code):
            self._resolve(version, True, True)

    def over(self, version: int) -> None:
        self._resolve(version, False, False)
        self._resolve(version, True, False)

    def _resolve(self, version: int, rsa: bool, value: bool) -> None:
        future = self.future(version, rsa=rsa)
        if not future.done():
            future.set_result(value)
