"""``python -m keywire`` runs the command line."""

from .cli import run

run()
