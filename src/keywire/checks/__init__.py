"""The check families keywire runs, in report order.

This tuple is the registry: a family that is not listed here does not run, and
``tests/test_rules.py`` keeps it, the rule catalogue and ``docs/rules/`` in sync.
"""

from __future__ import annotations

from typing import Any

from . import (
    auth_schemes,
    authenticated,
    breach,
    cleartext,
    cookies,
    error_pages,
    exposure,
    hsts,
    html_pages,
    mixed_content,
    openapi,
    proxy_headers,
    query_keys,
    redirects,
    revocation,
    tls,
    tokens,
)
from ._base import Family

FAMILIES: tuple[Family[Any], ...] = (
    cleartext.FAMILY,
    redirects.FAMILY,
    proxy_headers.FAMILY,
    hsts.FAMILY,
    auth_schemes.FAMILY,
    query_keys.FAMILY,
    cookies.FAMILY,
    mixed_content.FAMILY,
    html_pages.FAMILY,
    exposure.FAMILY,
    breach.FAMILY,
    error_pages.FAMILY,
    authenticated.FAMILY,
    openapi.FAMILY,
    tls.FAMILY,
    revocation.FAMILY,
    tokens.FAMILY,
)

GROUPS: frozenset[str] = frozenset(f.group for f in FAMILIES)

__all__ = ["FAMILIES", "GROUPS", "Family"]
