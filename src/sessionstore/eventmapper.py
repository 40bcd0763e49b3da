"""The event store's Mapper: each event is stored as its msgspec JSON, its tag as the topic.

The stored bytes are the bytes the relay publishes (design rule 2); no Python import path is
ever stored.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from sessionstore import codec


class _Unused(Transcoder):
    """The mapper encodes Structs itself; eventsourcing's dict transcoder is never called."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError


class EventMapper(Mapper[UUID]):
    """Stores each event as its msgspec JSON (codec), with its tag as the eventsourcing topic."""

    def __init__(self) -> None:
        super().__init__(transcoder=_Unused())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=codec.tag_of(domain_event),
            state=codec.encode_event(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return codec.decode_event(stored_event.state)
