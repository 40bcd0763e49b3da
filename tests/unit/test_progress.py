"""A projection applies each session's next version only: duplicates skip, gaps are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec

from sessionstore import codec
from sessionstore.domain.changes import SessionChanges
from sessionstore.domain.events import ItemsUpdated, SessionClosed, SessionCreated, SessionEvents
from sessionstore.domain.session import Session, fold
from sessionstore.readmodels.progress import advance_batch
from sessionstore.readmodels.shared import Shared

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Record(msgspec.Struct, frozen=True):
    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None


def history() -> list[SessionEvents]:
    key = uuid4()

    def at(v: int) -> dict[str, object]:
        return {
            "originator_id": key,
            "originator_version": v,
            "timestamp": T0 + timedelta(seconds=v),
        }

    return codec.seal(
        "",
        [
            SessionCreated(
                **at(1),
                application_id=1,
                integration_id="s",
                session_id=1,
                first_session=True,
                fields=SessionChanges(referral_code="R"),
            ),
            ItemsUpdated(**at(2), changes=SessionChanges(coupon_codes=("C",)), update_count=2),
            SessionClosed(**at(3), update_count=3),
        ],
    )


def records(events: list[SessionEvents], first_offset: int = 0) -> list[Record]:
    return [Record("t", 0, first_offset + i, codec.encode_event(e)) for i, e in enumerate(events)]


def test_a_batch_in_order_folds_every_event_and_moves_the_offset_past_it() -> None:
    events = history()
    batch = advance_batch(records(events), lambda _: None)
    (session,) = batch.sessions.values()
    assert session == fold(events)
    assert batch.applied == 3
    assert batch.offsets == {("t", 0): 3}


def test_redelivered_events_are_skipped_as_duplicates() -> None:
    events = history()
    stored = fold(events)
    batch = advance_batch(records(events), lambda _: stored)
    assert batch.sessions == {}
    assert batch.duplicates == 3
    assert batch.offsets == {("t", 0): 3}


def test_a_version_gap_is_reported_and_never_applied() -> None:
    events = history()
    after_one: Session | None = fold(events[:1])
    batch = advance_batch(records(events[2:], first_offset=7), lambda _: after_one)
    assert batch.sessions == {}
    (gap,) = batch.gaps
    assert (gap.expected, gap.received, gap.offset) == (2, 3, 7)


def test_read_models_advanced_together_share_one_decode_and_one_fold_per_record() -> None:
    """Three read models at the same stored state: the shared work gives each the very same
    new state, equal to what each would fold alone, and encodes it once."""
    events = history()
    stored_bytes = codec.encode_state(fold(events[:1]))
    batch_records = records(events[1:], first_offset=1)
    shared = Shared()

    def stored(_: str) -> Session:
        return shared.decode_state(bytes(stored_bytes))  # each read model's own bytes

    batches = [advance_batch(batch_records, stored, shared) for _ in range(3)]
    (first,), (second,), (third,) = (b.sessions.values() for b in batches)
    alone = advance_batch(batch_records, lambda _: codec.decode_state(stored_bytes))
    assert first is second is third
    assert first == next(iter(alone.sessions.values())) == fold(events)
    assert shared.once(codec.encode_state, first) is shared.once(codec.encode_state, second)
    assert shared.once(codec.encode_state, first) == codec.encode_state(fold(events))


def test_shared_work_never_mixes_different_stored_states() -> None:
    """A read model behind the others (say, a swapped-in one) folds from its own state."""
    events = history()
    shared = Shared()
    behind = advance_batch(records(events), lambda _: None, shared)
    ahead_state = fold(events[:2])
    ahead = advance_batch(records(events), lambda _: ahead_state, shared)
    assert behind.applied == 3
    assert ahead.applied == 1
    assert ahead.duplicates == 2
    assert next(iter(ahead.sessions.values())) == next(iter(behind.sessions.values()))
