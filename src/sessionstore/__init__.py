"""sessionstore: Talon.One-shaped customer sessions kept as event-sourced aggregates."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sessionstore")  # pyproject.toml's, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
