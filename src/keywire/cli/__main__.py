"""``python -m keywire.cli`` runs the command line."""

from . import run

run()
