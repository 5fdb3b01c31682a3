"""A local lab: real servers on loopback for ``keywire demo`` and for the tests.

Nothing here listens anywhere but 127.0.0.1 (or ::1).
"""

from .server import LabServer

__all__ = ["LabServer"]
