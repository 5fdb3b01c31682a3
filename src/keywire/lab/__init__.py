"""The demo's lab: the seed's vulnerable API, its flask_keywire fix and their PKI, on loopback.

``keywire demo`` serves these on 127.0.0.1 (or ::1) and nowhere else. The servers the tests and
the benchmarks use live outside the package, in the repository's ``labs/``.
"""

from .server import LabServer

__all__ = ["LabServer"]
