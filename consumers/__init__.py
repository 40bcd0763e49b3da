"""Thin deployable entry points, one per projection service (filled in by the stream issue)."""
