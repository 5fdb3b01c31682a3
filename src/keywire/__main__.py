"""``python -m keywire`` runs the command line."""

from .cli import main

main(prog_name="keywire")
