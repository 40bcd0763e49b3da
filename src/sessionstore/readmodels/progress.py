"""Which events a projection applies: the next version only; duplicates skipped; anything
else parked.

A record that does not decode (junk, or an event type this version does not know), whose
event does not apply to its session, or that comes after a version this projection has not
applied (a gap: typically behind a parked record of the same session), is parked: kept with
its bytes and the reason, so that `sessionstore parked retry` can apply it later. Other
sessions keep flowing; the offsets move past parked records.

Pure: the storage adapter hands in a loader for the stored state of a session and writes out
what this returns, together with the offsets and the parked records, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from sessionstore.domain.session import Session
from sessionstore.readmodels.shared import Shared


class Record(Protocol):
    """A consumed Kafka record, as far as a projection cares."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes: ...


class Gap(msgspec.Struct, frozen=True, kw_only=True):
    session_key: str
    expected: int
    received: int
    partition: int
    offset: int


class Parked(msgspec.Struct, frozen=True, kw_only=True):
    """A record set aside, with why; `key` is the Kafka key as text ("" if it had none)."""

    topic: str
    partition: int
    offset: int
    key: str
    reason: str
    value: bytes


class Batch(msgspec.Struct, kw_only=True):
    """The sessions a batch changed (with the records that changed them), the next offsets
    to store, and the records it parked."""

    sessions: dict[str, Session] = {}
    sources: dict[str, list[Record]] = {}
    offsets: dict[tuple[str, int], int] = {}
    gaps: list[Gap] = []
    parked: list[Parked] = []
    applied: int = 0
    duplicates: int = 0

    def park(self, record: Record, reason: str) -> None:
        key = record.key.decode(errors="replace") if record.key else ""
        self.parked.append(
            Parked(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=key,
                reason=reason,
                value=record.value,
            )
        )

    def unapply(self, key: str, reason: str) -> None:
        """The session's new state could not be stored: park what changed it instead."""
        self.sessions.pop(key, None)
        for record in self.sources.pop(key, []):
            self.applied -= 1
            self.park(record, reason)


def advance_batch(
    records: Sequence[Record],
    load: Callable[[str], Session | None],
    shared: Shared | None = None,
) -> Batch:
    """`shared`: the decoding and folding shared with the read models advanced together
    with this one (see `shared`); by default this batch's own."""
    shared = shared or Shared()
    batch = Batch(sessions={}, sources={}, offsets={}, gaps=[], parked=[])
    for record in records:
        _advance(batch, record, load, shared)
        batch.offsets[(record.topic, record.partition)] = record.offset + 1
    return batch


def _advance(
    batch: Batch, record: Record, load: Callable[[str], Session | None], shared: Shared
) -> None:
    try:
        event = shared.decode_event(record.value)
    except msgspec.MsgspecError as error:
        batch.park(record, f"cannot decode: {error}")
        return
    key = shared.key_of(event)
    current = batch.sessions[key] if key in batch.sessions else load(key)
    have = current.version if current else 0
    if event.originator_version <= have:
        batch.duplicates += 1
    elif event.originator_version == have + 1:
        try:
            batch.sessions[key] = shared.evolve(current, event)
        except Exception as error:  # an event its session cannot take
            batch.park(record, f"cannot apply to its session: {error}")
            return
        batch.sources.setdefault(key, []).append(record)
        batch.applied += 1
    else:
        gap = Gap(
            session_key=key,
            expected=have + 1,
            received=event.originator_version,
            partition=record.partition,
            offset=record.offset,
        )
        batch.gaps.append(gap)
        batch.park(record, f"waits for version {gap.expected} of its session")
