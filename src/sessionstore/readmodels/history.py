"""A session's history for auditors: each event with its tag, version, time and stored data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from sessionstore import codec
from sessionstore.domain.events import SessionEvents
from sessionstore.domain.session import Session, fold


class HistoryItem(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    version: int
    timestamp: datetime
    digest: str
    data: msgspec.Raw


def history_items(events: Iterable[SessionEvents]) -> list[HistoryItem]:
    """`data` is the event exactly as stored and published (money as decimal strings)."""
    return [
        HistoryItem(
            type=codec.tag_of(event),
            version=event.originator_version,
            timestamp=event.timestamp,
            digest=event.digest,
            data=msgspec.Raw(codec.encode_event(event)),
        )
        for event in events
    ]


def as_of(
    events: Sequence[SessionEvents], *, at: datetime | None = None, version: int | None = None
) -> Session | None:
    """The session as it was at an instant or after a version; None if it did not exist yet."""
    return fold(
        e
        for e in events
        if (at is None or e.timestamp <= at)
        and (version is None or e.originator_version <= version)
    )
