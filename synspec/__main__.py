"""`python -m synspec` runs the command line."""

from synspec.cli import run

if __name__ == "__main__":
    run()
