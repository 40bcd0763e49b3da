"""Projection service for the Management API ApplicationSession read model.

Run as `python -m consumers.application_sessions`, the same as `sessionstore project
application-sessions`; settings come from SESSIONSTORE_* variables.
"""

import sys

from sessionstore.cli import main as sessionstore


def main() -> None:
    sessionstore(["project", "application-sessions", *sys.argv[1:]])


if __name__ == "__main__":
    main()
