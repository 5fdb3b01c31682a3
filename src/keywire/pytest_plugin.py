"""keywire's pytest plugin: the ``keywire_scan`` fixture (registered as a ``pytest11`` entry point).

``keywire_scan(app, path="/v1/resource")`` serves a WSGI app (Flask first) on 127.0.0.1 over
HTTPS with a throwaway CA plus its cleartext port, scans it, stops the servers and returns a
:class:`keywire.testing.ScanResult`::

    def test_api_grades_a(keywire_scan):
        assert keywire_scan(create_app(), path="/v1/resource").grade == "A"

    def test_nothing_medium_or_worse(keywire_scan):
        keywire_scan(create_app()).assert_no_findings(at_or_above="medium")

Every pytest run in an environment with keywire installed loads this module, so it imports
nothing but pytest (already loaded) until a test asks for the fixture.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import ScanResult


class _Scan:
    """The fixture's value: call it with an app."""

    def __init__(self, directory: Any) -> None:
        from .testing import AppScanner

        self._scanner = AppScanner(directory)

    def __call__(self, app: Any, path: str = "/", **options: Any) -> ScanResult:
        return self._scanner.scan(app, path, **options)

    def close(self) -> None:
        self._scanner.close()


@pytest.fixture
def keywire_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Scan]:
    """Scan a WSGI app served on loopback (HTTPS and cleartext); see :mod:`keywire.testing`."""
    scanner = _Scan(tmp_path_factory.mktemp("keywire-ca"))
    try:
        yield scanner
    finally:
        scanner.close()


def pytest_assertrepr_compare(
    config: pytest.Config, op: str, left: object, right: object
) -> list[str] | None:
    """``assert result.grade == "A"`` failing lists the findings behind the grade."""
    testing = sys.modules.get("keywire.testing")  # not loaded: no keywire grade to explain
    if testing is None or op != "==":
        return None
    if isinstance(left, testing.Grade):
        explained: list[str] = left.explain(right)
        return explained
    if isinstance(right, testing.Grade):
        explained = right.explain(left)
        return explained
    return None
