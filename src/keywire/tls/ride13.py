"""The TLS 1.3 session of the depth probes, carried on a connection the enumeration opens anyway.

The enumeration's TLS 1.3 hellos carry one X25519 share whose private key the scan keeps. The
first of them that the server answers with a ServerHello for that share and a suite keywire
computes goes on to a full handshake (:func:`.session13.continue_handshake`) instead of hanging
up: the session and its tickets without a connection and a server flight of their own. When
none fits (the server wants another group, say), :mod:`.depth` completes its own handshake.
"""

from __future__ import annotations

import asyncio

from ._wire import DecodeError
from .connection import After13, Channel
from .messages import ServerHello
from .session13 import SUITES, Closed, FullHandshake, Unsupported, continue_handshake
from .tls13 import KeyShare

#: Rides that broke off before another connection may try (each costs the enumeration a wait).
MAX_ATTEMPTS = 2


class Ride13:
    """One TLS 1.3 session to be carried by the first enumeration connection that fits."""

    def __init__(self, share: KeyShare, *, quiet: float) -> None:
        self.share = share
        self.quiet = quiet
        self.result: FullHandshake | None = None
        #: Why the rides that were tried broke off.
        self.failures: list[str] = []
        self._busy = False
        self._closed = False
        self._idle = asyncio.Event()

    def _open(self) -> bool:
        return not (
            self._busy
            or self._closed
            or self.result is not None
            or len(self.failures) >= MAX_ATTEMPTS
        )

    def rider(self, client_hello: bytes) -> After13 | None:
        """What carries the session on after the hello ``client_hello`` (None: no ride)."""
        if not self._open():
            return None

        async def run(
            channel: Channel, hello: ServerHello, server_hello: bytes, rest: bytes
        ) -> None:
            if not self._open():
                return
            if hello.key_share_group != self.share.group or hello.cipher_suite not in SUITES:
                return
            self._busy = True
            self._idle.clear()
            try:
                self.result = await continue_handshake(
                    channel, client_hello, hello, server_hello, self.share, rest, quiet=self.quiet
                )
            except (Closed, Unsupported, DecodeError, asyncio.TimeoutError, OSError) as exc:
                self.failures.append(str(exc) or type(exc).__name__)
            finally:
                self._busy = False
                self._idle.set()

        return run

    async def settle(self) -> FullHandshake | None:
        """No more rides from now on; the session, if one was carried (waits for one under way)."""
        self._closed = True
        while self._busy:
            await self._idle.wait()
        return self.result
