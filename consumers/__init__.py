"""Thin deployable entry points, one per projection service (see docker-compose.yml)."""
