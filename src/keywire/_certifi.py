"""Where certifi's CA bundle is, without importing certifi.

``certifi.where()`` is the documented way, but importing certifi loads ``importlib.resources``
and, through it, ``zipfile``, ``tempfile`` and ``shutil`` (about 4 ms of a 0.2 s scan), only to
support installs where the bundle is not a file. Installed as a directory, as pip installs it,
the bundle is ``cacert.pem`` next to the package's ``__init__``: that file is used when it is
there, and ``certifi.where()`` otherwise.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path


@functools.cache
def certifi_bundle() -> str:
    """The path of certifi's ``cacert.pem``."""
    spec = importlib.util.find_spec("certifi")
    for location in (spec.submodule_search_locations or []) if spec else []:
        bundle = Path(location) / "cacert.pem"
        if bundle.is_file():
            return str(bundle)
    import certifi

    return certifi.where()
