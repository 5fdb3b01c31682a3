"""``python -m keywire.cli`` runs the command line."""

from . import main

main(prog_name="keywire")
