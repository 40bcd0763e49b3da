"""The Talon.One-compatible HTTP API (Integration API paths) and health."""
