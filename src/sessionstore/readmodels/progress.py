"""Which events a projection applies: the next version only; duplicates skipped, gaps reported.

Pure: the storage adapter hands in a loader for the stored state of a session and writes out
what this returns, together with the offsets, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from sessionstore import codec
from sessionstore.domain.session import Session, evolve


class Record(Protocol):
    """A consumed Kafka record, as far as a projection cares."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes: ...


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    session_key: str
    expected: int
    received: int
    partition: int
    offset: int


class Batch(msgspec.Struct, kw_only=True):
    """The sessions a batch changed, the next offsets to store, and the gaps it met."""

    sessions: dict[str, Session] = {}
    offsets: dict[tuple[str, int], int] = {}
    gaps: list[Gap] = []
    applied: int = 0
    duplicates: int = 0


def advance_batch(records: Sequence[Record], load: Callable[[str], Session | None]) -> Batch:
    batch = Batch(sessions={}, offsets={}, gaps=[])
    for record in records:
        event = codec.decode_session_event(record.value)
        key = str(event.originator_id)
        current = batch.sessions[key] if key in batch.sessions else load(key)
        have = current.version if current else 0
        if event.originator_version <= have:
            batch.duplicates += 1
        elif event.originator_version == have + 1:
            batch.sessions[key] = evolve(current, event)
            batch.applied += 1
        else:
            batch.gaps.append(
                Gap(
                    session_key=key,
                    expected=have + 1,
                    received=event.originator_version,
                    partition=record.partition,
                    offset=record.offset,
                )
            )
        batch.offsets[(record.topic, record.partition)] = record.offset + 1
    return batch
