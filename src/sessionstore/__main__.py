"""`python -m sessionstore`: the `sessionstore` command (how `run` starts its child parts)."""

from sessionstore.cli import main

main()
