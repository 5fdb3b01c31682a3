"""``--resolve HOST:PORT:ADDRESS``: scan a name at an address of the user's choosing.

curl's convention: ``api.example.com:443:10.0.0.5`` sends what keywire would send to
``api.example.com`` (the name in SNI, in ``Host`` and in certificate checks) to 10.0.0.5
instead of the address DNS gives: a staging server, the origin behind a CDN, a lab. Several
addresses are separated by commas, IPv6 ones may be bracketed (``[::1]``), and curl's ``+``
prefix is accepted.

keywire resolves names, not name-and-port pairs: a pinned name is pinned on every port keywire
reaches it on (a target's HTTPS side and its cleartext side alike), so the scan never mixes the
chosen server with another. ``PORT`` must still be a port, and one name may not be pinned to
different addresses on different ports (a usage error, not a silent choice).

>>> parse_pins(["api.test:443:127.0.0.1"])
{'api.test': ('127.0.0.1',)}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from .resolver import Resolver, SystemResolver

if TYPE_CHECKING:
    from ..scanoptions import ScanOptions


class PinError(ValueError):
    """A ``--resolve`` entry that cannot be used (a usage error)."""


def parse_pin(entry: str) -> tuple[str, int, tuple[str, ...]]:
    """``HOST:PORT:ADDRESS[,ADDRESS...]`` as (host, port, addresses); raises :class:`PinError`."""
    text = entry.strip().removeprefix("+")
    if text.startswith("["):
        raise PinError(f"--resolve {entry!r}: pin a host name (an address needs no pin)")
    host, sep1, rest = text.partition(":")
    port_text, sep2, addresses_text = rest.partition(":")
    if not (sep1 and sep2 and host and port_text and addresses_text):
        raise PinError(f"--resolve {entry!r}: expected HOST:PORT:ADDRESS (as curl takes it)")
    if "/" in host or "@" in host or " " in host:
        raise PinError(f"--resolve {entry!r}: {host!r} is not a host name")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise PinError(f"--resolve {entry!r}: {port_text!r} is not a port (1-65535)")
    addresses = []
    for item in addresses_text.split(","):
        item = item.strip()
        bare = item[1:-1] if item.startswith("[") and item.endswith("]") else item
        try:
            addresses.append(str(ipaddress.ip_address(bare)))
        except ValueError:
            raise PinError(f"--resolve {entry!r}: {item!r} is not an IP address") from None
    return host.rstrip(".").lower(), int(port_text), tuple(dict.fromkeys(addresses))


def parse_pins(entries: Collection[str]) -> dict[str, tuple[str, ...]]:
    """The pinned names and their addresses; raises :class:`PinError` (see the module)."""
    pins: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        host, _port, addresses = parse_pin(entry)
        previous = pins.get(host)
        if previous is not None and previous != addresses:
            raise PinError(
                f"--resolve {entry!r}: {host} is already pinned to {', '.join(previous)}; keywire "
                "pins a name on every port, so give it the same addresses"
            )
        pins[host] = addresses
    return pins


class PinnedResolver:
    """The pinned names from the pins, every other name from ``inner``."""

    def __init__(self, inner: Resolver, pins: Mapping[str, tuple[str, ...]]) -> None:
        self._inner = inner
        self._pins = dict(pins)

    async def resolve(self, host: str) -> tuple[str, ...]:
        pinned = self._pins.get(host.rstrip(".").lower())
        if pinned is not None:
            return pinned
        return await self._inner.resolve(host)


def with_pins(resolver: Resolver | None, options: ScanOptions) -> Resolver | None:
    """``resolver`` (or the system's) behind the scan's ``--resolve`` pins, if it has any."""
    if not options.resolve:
        return resolver
    inner = resolver if resolver is not None else SystemResolver(timeout=options.timeout)
    return PinnedResolver(inner, parse_pins(options.resolve))
