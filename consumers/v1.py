"""Projection service for the V1 CustomerSession read model: `python -m consumers.v1`.

Same as `sessionstore project v1`; settings come from SESSIONSTORE_* variables.
"""

import sys

from sessionstore.cli import main as sessionstore


def main() -> None:
    sessionstore(["project", "v1", *sys.argv[1:]])


if __name__ == "__main__":
    main()
