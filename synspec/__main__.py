"""`python -m synspec` runs the command line."""

from synspec.cli import run

run()
