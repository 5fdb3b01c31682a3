"""The cyclic garbage collector, paused while the ``keywire`` executable starts a scan.

Starting a scan creates some 300,000 long-lived objects (the modules, classes and tables it
imports) and almost no garbage cycles; the collector would traverse them again and again as
they are created, about 10 ms of a 180 ms one-target scan. :func:`pause` (called first by
:func:`keywire.cli.run`) turns it off; :func:`resume` moves every object alive by then to the
permanent generation (:func:`gc.freeze`: later full collections skip them) and turns it back on.
A scan resumes it when its first target is done, so a fleet of any size is collected as usual;
every other command resumes it before it runs. Library users, who never pause it, are unaffected.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turn the collector off until :func:`resume` (if it is on)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Turn the collector back on if :func:`pause` turned it off; otherwise do nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
