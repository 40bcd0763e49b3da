"""Aggregate ids: name-based UUIDs, so the same session always has the same key (decision 18).

The session key is also the Kafka key of the session's events.
"""

from __future__ import annotations

import functools
from uuid import NAMESPACE_URL, UUID, uuid5

NAMESPACE = uuid5(NAMESPACE_URL, "https://sessionstore.invalid/")


@functools.lru_cache(maxsize=65_536)  # a checkout asks for the same few keys again and again
def session_key(application_id: int, integration_id: str) -> UUID:
    """The aggregate id: one session per (application, integration id) (decision 18)."""
    return uuid5(NAMESPACE, f"session/{application_id}/{integration_id}")


@functools.lru_cache(maxsize=65_536)
def profile_key(application_id: int, profile_id: str) -> UUID:
    return uuid5(NAMESPACE, f"profile/{application_id}/{profile_id}")


def sequence_key(name: str) -> UUID:
    """Where stores written before version 0.2 kept a sequence (`sequence.allocated` events)."""
    return uuid5(NAMESPACE, f"sequence/{name}")


SEQUENCES = ("sessions", "profiles", "returns")
LEGACY_SEQUENCES = {name: sequence_key(name) for name in SEQUENCES}
