"""Projection service for the V2 CustomerSessionV2 read model: `python -m consumers.v2`.

Same as `sessionstore project v2`; settings come from SESSIONSTORE_* variables.
"""

import sys

from sessionstore.cli import main as sessionstore


def main() -> None:
    sessionstore(["project", "v2", *sys.argv[1:]])


if __name__ == "__main__":
    main()
