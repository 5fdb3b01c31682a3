"""The token lab: a Flask app with one route per generator, served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keywire.lab import LabServer

pytest.importorskip("flask")


@pytest.fixture(scope="module")
def tokens_lab() -> Iterator[LabServer]:
    from labs.tokens_api import create_tokens_app

    with LabServer(create_tokens_app()) as server:
        yield server
