"""flask_keywire's configuration: every key with its default, and the checks ``init_app`` runs.

``KeyWire(app)`` sets each key with ``app.config.setdefault`` and calls :func:`check_config`, which
raises :class:`ConfigurationError` for a configuration that cannot work (a missing or short
pepper, bad scopes, a bad lifetime), so such an application never starts serving.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ._errors import ConfigurationError
from ._keys import check_prefix, pepper_bytes
from ._logging import DEFAULT_QUERY_PARAMS
from ._scan import DEFAULT_BODY_LIMIT
from ._text import check_scopes

HSTS_TWO_YEARS = "max-age=63072000; includeSubDomains"
#: Lifetime of a new key unless one is given (``KEYWIRE_KEY_LIFETIME``).
DEFAULT_KEY_LIFETIME = timedelta(days=90)
#: The longest lifetime or overlap accepted: beyond it, say ``never`` (None).
MAX_DURATION = timedelta(days=3650)


class Default(enum.Enum):
    DEFAULT = "default"


#: ``expires_in`` not given: ``KEYWIRE_KEY_LIFETIME`` for a new key, the old key's for rotation.
DEFAULT = Default.DEFAULT

#: Every configuration key, with its default (set with ``app.config.setdefault``).
DEFAULTS: Mapping[str, Any] = {
    "KEYWIRE_PEPPER": None,
    "KEYWIRE_PEPPER_FALLBACKS": (),
    "KEYWIRE_STORE": None,
    "KEYWIRE_API_KEY_HASH": None,
    "KEYWIRE_KEY_PREFIX": "kw_live",
    "KEYWIRE_HEADER": "X-API-Key",
    "KEYWIRE_QUERY_PARAMS": DEFAULT_QUERY_PARAMS,
    "KEYWIRE_PROTECT_ALL": False,
    "KEYWIRE_DEFAULT_SCOPES": (),
    "KEYWIRE_REFUSE_CLEARTEXT": True,
    "KEYWIRE_REVOKE_ON_CLEARTEXT": True,
    "KEYWIRE_TRUSTED_PROXIES": 0,
    "KEYWIRE_HSTS": HSTS_TWO_YEARS,
    "KEYWIRE_REALM": "api",
    "KEYWIRE_LOG_FILTER": True,
    "KEYWIRE_LAST_USED_RESOLUTION": 60,
    "KEYWIRE_KEY_LIFETIME": DEFAULT_KEY_LIFETIME,
    "KEYWIRE_CLEARTEXT_BODY_LIMIT": DEFAULT_BODY_LIMIT,
    "KEYWIRE_PENDING_REVOCATIONS": None,
}


def proxy_hops(value: object) -> int:
    """``KEYWIRE_TRUSTED_PROXIES`` checked: a count of proxies, not a flag."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(
            "KEYWIRE_TRUSTED_PROXIES must be the number of proxies (an int >= 0)"
        )
    return value


def body_limit(config: Mapping[str, Any]) -> int:
    """``KEYWIRE_CLEARTEXT_BODY_LIMIT`` checked: bytes of a cleartext body searched for keys."""
    limit = config["KEYWIRE_CLEARTEXT_BODY_LIMIT"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigurationError(
            "KEYWIRE_CLEARTEXT_BODY_LIMIT must be a number of bytes (int >= 0)"
        )
    return limit


def peppers_from(config: Mapping[str, Any]) -> list[bytes]:
    """``KEYWIRE_PEPPER`` then ``KEYWIRE_PEPPER_FALLBACKS`` as bytes (ConfigurationError if unusable)."""
    peppers = [pepper_bytes(config.get("KEYWIRE_PEPPER"))]
    fallbacks = config.get("KEYWIRE_PEPPER_FALLBACKS") or ()
    if isinstance(fallbacks, (str, bytes)):
        fallbacks = (fallbacks,)
    peppers += [pepper_bytes(p, name="KEYWIRE_PEPPER_FALLBACKS") for p in fallbacks]
    return peppers


def check_duration(value: object, *, what: str) -> timedelta | None:
    """``value`` if it is None or a timedelta of at most :data:`MAX_DURATION`; else an error."""
    if value is None:
        return None
    if not isinstance(value, timedelta):
        raise TypeError(f"the {what} must be a timedelta or None, not {type(value).__name__}")
    if value > MAX_DURATION:
        raise ValueError(
            f"the {what} is too long: at most {MAX_DURATION.days} days (10 years); "
            "use None (never) for a key that does not expire"
        )
    return value


def lifetime_from(config: Mapping[str, Any]) -> timedelta | None:
    """``KEYWIRE_KEY_LIFETIME``: the lifetime of a new key when none is given."""
    try:
        lifetime = check_duration(config.get("KEYWIRE_KEY_LIFETIME"), what="KEYWIRE_KEY_LIFETIME")
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
    if lifetime is not None and lifetime <= timedelta(0):
        raise ConfigurationError("KEYWIRE_KEY_LIFETIME must be positive, or None for never")
    return lifetime


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a configuration flask_keywire cannot work with (:class:`ConfigurationError`)."""
    peppers_from(config)
    proxy_hops(config["KEYWIRE_TRUSTED_PROXIES"])
    body_limit(config)
    lifetime_from(config)
    try:
        check_scopes(config["KEYWIRE_DEFAULT_SCOPES"], what="KEYWIRE_DEFAULT_SCOPES")
        check_prefix(config["KEYWIRE_KEY_PREFIX"])
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(str(exc)) from None
