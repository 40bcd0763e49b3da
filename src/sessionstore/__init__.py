"""sessionstore: Talon.One-shaped customer sessions kept as event-sourced aggregates."""

__version__ = "0.1.0"
